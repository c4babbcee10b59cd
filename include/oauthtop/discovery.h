/* discovery.h - a provider's endpoints from its issuer: OpenID Connect Discovery 1.0 and
 * RFC 8414 (OAuth 2.0 Authorization Server Metadata).
 *
 * A provider configured with `issuer` gets the endpoints its configuration does not name
 * (token, device authorization, authorization, revocation, introspection) from the metadata
 * document, whose `issuer` member must equal the configured issuer. The document is cached in
 * the store (ot_store_meta_*) so keepers do not fetch it on every run. */
#ifndef OAUTHTOP_DISCOVERY_H
#define OAUTHTOP_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oauthtop/config.h"
#include "oauthtop/err.h"
#include "oauthtop/store.h"

/* A cached document younger than this is used without fetching. */
#define OT_DISCOVERY_MAX_AGE INT64_C(86400)

/* The endpoints read from a metadata document; every string owned, NULL when absent. */
typedef struct ot_discovered {
	char *issuer;
	char *token_url;
	char *device_authorization_url;
	char *authorization_url;
	char *revocation_url;
	char *introspection_url;
	char *userinfo_url;
	bool s256; /* code_challenge_methods_supported lists S256, or is absent */
} ot_discovered;

/* Parses a metadata document (JSON object). Checks that its issuer equals expected_issuer
 * (a difference of one trailing '/' only is tolerated) and that every endpoint it names passes
 * ot_url_allowed(). Returns 0, or -1 with err (out is then empty). */
int ot_discovery_parse(const char *body, size_t len, const char *expected_issuer,
                       ot_discovered *out, ot_err *err);

void ot_discovered_free(ot_discovered *d);

/* The metadata URLs tried for an issuer, in order: OpenID Connect's
 * ISSUER/.well-known/openid-configuration, then RFC 8414's
 * https://host/.well-known/oauth-authorization-server[/path]. Returns 0, or -1 if the issuer
 * is not an http(s) URL or a URL does not fit n bytes. */
int ot_discovery_urls(const char *issuer, char *oidc, char *rfc8414, size_t n);

enum {
	OT_DISCOVERY_CACHE_ONLY = 1 << 0, /* never fetch: the cached document or nothing */
	OT_DISCOVERY_FETCH = 1 << 1,      /* fetch even when the cached document is fresh */
};

/* Fills the endpoints of provider `provider` (when it has an issuer) that its configuration
 * leaves empty, from the document cached in st (may be NULL: no cache) when younger than
 * OT_DISCOVERY_MAX_AGE, else fetched (then cached). When fetching fails, a stale cached
 * document is used. Returns 1 endpoints filled, 0 nothing to do (no issuer, or CACHE_ONLY and
 * nothing cached), -1 with err. */
int ot_discovery_apply(ot_config *cfg, const char *provider, ot_store *st, int64_t now, int flags,
                       ot_err *err);

/* ot_discovery_apply() for every provider with an issuer. Tries them all; returns the number
 * of providers filled, or -1 with err naming the first that failed. Keepers call this once
 * after loading the configuration and opening the store. */
int ot_discovery_apply_all(ot_config *cfg, ot_store *st, int64_t now, int flags, ot_err *err);

#endif
