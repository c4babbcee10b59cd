/* config.h - the JSON configuration (DESIGN §5): settings, providers, accounts.
 *
 * ot_config is opaque; providers, accounts and settings are exposed as read-only records
 * owned by the config and valid until ot_config_free(). */
#ifndef OAUTHTOP_CONFIG_H
#define OAUTHTOP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oauthtop/err.h"

typedef enum ot_grant {
	OT_GRANT_REFRESH_TOKEN = 0,
	OT_GRANT_CLIENT_CREDENTIALS,
} ot_grant;

typedef enum ot_auth_method {
	OT_AUTH_BASIC = 0, /* client_secret_basic (default) */
	OT_AUTH_POST,      /* client_secret_post */
	OT_AUTH_NONE,      /* public client: client_id in the body */
} ot_auth_method;

typedef struct ot_kv {
	const char *key;
	const char *value;
} ot_kv;

typedef struct ot_provider {
	const char *name;
	const char *token_url; /* may be NULL only when issuer is set (discovery fills it) */
	const char *issuer;
	const char *client_id;
	const char *client_secret; /* resolved from file / env / inline; NULL if none */
	ot_auth_method auth_method;
	const char *scope; /* NULL: not sent */
	const ot_kv *extra_params;
	size_t n_extra_params;
	int64_t default_expires_in;     /* 0: none */
	int64_t refresh_token_lifetime; /* 0: none; drives reauth_soon only */
	int max_concurrency;            /* default 8 */
	const char *ca_file;
	const char *device_authorization_url;
	const char *authorization_url;
	const char *revocation_url;
	const char *introspection_url;
	int redirect_port; /* 0: random */
	/* 16 hex digits over token_url, client_id, secret, auth_method: a client rejection
	 * recorded under another fingerprint is re-armed (DESIGN §3 step 5). */
	char fingerprint[17];
} ot_provider;

typedef struct ot_account {
	const char *name;
	const ot_provider *provider;
	ot_grant grant;
	const char *scope; /* account's, else provider's, else NULL */
	int64_t window;    /* account's, else global */
	const char *endpoint;
	bool enabled;
} ot_account;

typedef struct ot_settings {
	const char *path; /* the file the configuration came from */
	int64_t window;   /* 300 */
	int64_t reauth_warning; /* 604800 */
	const char *store_path; /* $XDG_STATE_HOME/oauthtop/oauthtop.db */
	int concurrency;        /* 32 */
	int64_t min_interval;   /* 30 */
	int64_t backoff_base;   /* 30 */
	int64_t backoff_max;    /* 3600 */
	int64_t lease_seconds;  /* 120 */
	int64_t connect_timeout; /* 10 */
	int64_t total_timeout;   /* 30 */
	int64_t history_days;    /* 90 */
	const char *theme;       /* "default" */
	const char *hook_reauth;
	const char *hook_failing;
	const char *hook_recovered;
} ot_settings;

typedef struct ot_config ot_config;

/* Finds the configuration file: explicit_path, else $OAUTHTOP_CONFIG, else
 * $XDG_CONFIG_HOME/oauthtop/config.json (~/.config/...), else /etc/oauthtop/config.json.
 * Writes the chosen path to out. Returns 0, or -1 with err set when none exists. */
int ot_config_locate(const char *explicit_path, char *out, size_t outlen, ot_err *err);

/* Loads and validates the file at path. On error returns NULL and err names the file and the
 * 0-based key path ("cfg.json: accounts[3].provder: unknown key"). */
ot_config *ot_config_load(const char *path, ot_err *err);

/* Same, from text in memory; path is used only in messages and for relative file paths. */
ot_config *ot_config_parse(const char *text, size_t len, const char *path, ot_err *err);

/* Frees the configuration, wiping resolved secrets. NULL is fine. */
void ot_config_free(ot_config *cfg);

const ot_settings *ot_config_settings(const ot_config *cfg);

/* Overrides the store path (the --store option). */
void ot_config_set_store_path(ot_config *cfg, const char *path);

size_t ot_config_account_count(const ot_config *cfg);
const ot_account *ot_config_account(const ot_config *cfg, size_t i);
/* NULL when no account has that name. */
const ot_account *ot_config_find_account(const ot_config *cfg, const char *name);
/* The index (for ot_config_account) of the i-th account in name order (strcmp); SIZE_MAX
 * when i is out of range. The configuration keeps this order for its lookups anyway. */
size_t ot_config_account_by_name(const ot_config *cfg, size_t i);

size_t ot_config_provider_count(const ot_config *cfg);
const ot_provider *ot_config_provider(const ot_config *cfg, size_t i);
const ot_provider *ot_config_find_provider(const ot_config *cfg, const char *name);

/* Fills a provider's endpoints discovered from its issuer (RFC 8414 / OIDC); NULL leaves a
 * field unchanged. Used by the discovery code; the strings are copied. */
void ot_config_provider_set_endpoints(ot_config *cfg, const char *provider, const char *token_url,
				      const char *device_url, const char *authorization_url,
				      const char *revocation_url, const char *introspection_url);

/* 1 if url is http:// to a loopback host (127.0.0.0/8, ::1, localhost) or https://; 0 else. */
int ot_url_allowed(const char *url);

const char *ot_grant_name(ot_grant g);
const char *ot_auth_method_name(ot_auth_method m);

#endif
