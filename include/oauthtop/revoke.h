/* revoke.h - asking the provider about a token: revocation (RFC 7009), introspection
 * (RFC 7662), and one authenticated GET to an account's endpoint. Blocking one-shot requests
 * for the command line; no token value ever appears in a result or a message. */
#ifndef OAUTHTOP_REVOKE_H
#define OAUTHTOP_REVOKE_H

#include <stdbool.h>
#include <stdint.h>

#include "oauthtop/config.h"
#include "oauthtop/err.h"

typedef enum ot_revoke_kind {
	OT_REVOKE_DONE = 0,    /* HTTP 200: revoked, or unknown to the server (RFC 7009 §2.2) */
	OT_REVOKE_UNAVAILABLE, /* 503, 429, 5xx or no answer: the token is still alive, retry */
	OT_REVOKE_REFUSED,     /* an error answer (invalid_client, unsupported_token_type...) */
} ot_revoke_kind;

typedef struct ot_revoke_result {
	ot_revoke_kind kind;
	long status;      /* HTTP status, 0 if none */
	int64_t retry_at; /* from Retry-After when UNAVAILABLE; 0 none */
	char reason[256]; /* one line: "HTTP 503", "unsupported_token_type: ..." */
} ot_revoke_result;

/* Revokes token at p's revocation_url with client authentication; hint is
 * "refresh_token" or "access_token" (may be NULL). Returns 0 with out filled when a request
 * was made (whatever its answer), -1 with err when none could be (no revocation_url...). */
int ot_revoke_token(const ot_provider *p, const ot_settings *s, const char *token, const char *hint,
                    int64_t now, ot_revoke_result *out, ot_err *err);

typedef struct ot_introspection {
	bool active;
	long status;
	int64_t exp; /* 0 when absent */
	int64_t iat;
	char scope[512];
	char client_id[128];
	char username[128];
	char sub[128];
	char token_type[32];
	char reason[256]; /* why the answer is unusable, when ot_introspect() fails */
} ot_introspection;

/* Asks p's introspection_url about token (client authentication, token_type_hint hint).
 * Returns 0 when the server answered with a JSON object holding `active` (out->active says
 * the rest), -1 with err otherwise (network, HTTP error, 401 client rejected, no `active`). */
int ot_introspect(const ot_provider *p, const ot_settings *s, const char *token, const char *hint,
                  ot_introspection *out, ot_err *err);

typedef struct ot_probe {
	long status;      /* HTTP status, 0 when no answer */
	double seconds;   /* request duration */
	char reason[256]; /* transport failure, or the status line's meaning */
} ot_probe;

/* One GET to url with `Authorization: Bearer access_token` (no redirects followed; p gives
 * the CA file). Returns 0 with out filled when the request was made, -1 with err when it
 * could not be (URL refused...). A 2xx status means the token was accepted. */
int ot_probe_endpoint(const ot_provider *p, const ot_settings *s, const char *url,
                      const char *access_token, ot_probe *out, ot_err *err);

#endif
