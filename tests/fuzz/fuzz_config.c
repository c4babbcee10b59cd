/* fuzz_config.c - libFuzzer harness for the configuration loader (include/oauthtop/config.h):
 * ot_config_parse over the input as configuration text, then every accessor over the result
 * (each string is read, so the sanitizers check it). The configuration "lives" in a
 * directory that does not exist, so relative secret files are never found. Broken
 * invariants abort: an error message on one line, a parsed configuration with accounts
 * whose provider or name is missing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "oauthtop/config.h"

#define FUZZ_CONFIG_PATH "/nonexistent-oauthtop-fuzz/config.json"

static void fuzz_cfg_check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_config: invariant broken: %s\n", what);
		abort();
	}
}

static size_t fuzz_len(const char *s)
{
	return s ? strlen(s) : 0;
}

static size_t fuzz_walk_provider(const ot_provider *p)
{
	size_t n = fuzz_len(p->name) + fuzz_len(p->token_url) + fuzz_len(p->issuer) +
	           fuzz_len(p->client_id) + fuzz_len(p->client_secret) + fuzz_len(p->scope) +
	           fuzz_len(p->ca_file) + fuzz_len(p->device_authorization_url) +
	           fuzz_len(p->authorization_url) + fuzz_len(p->revocation_url) +
	           fuzz_len(p->introspection_url) + strnlen(p->fingerprint, sizeof(p->fingerprint));

	fuzz_cfg_check(p->name && p->client_id, "provider without name or client_id");
	fuzz_cfg_check(p->token_url || p->issuer, "provider without token_url or issuer");
	for (size_t i = 0; i < p->n_extra_params; i++)
		n += fuzz_len(p->extra_params[i].key) + fuzz_len(p->extra_params[i].value);
	n += fuzz_len(ot_auth_method_name(p->auth_method));
	return n;
}

static size_t fuzz_walk(ot_config *cfg)
{
	const ot_settings *s = ot_config_settings(cfg);
	size_t n = fuzz_len(s->path) + fuzz_len(s->store_path) + fuzz_len(s->theme) +
	           fuzz_len(s->hook_reauth) + fuzz_len(s->hook_failing) +
	           fuzz_len(s->hook_recovered);

	for (size_t i = 0; i < ot_config_provider_count(cfg); i++) {
		const ot_provider *p = ot_config_provider(cfg, i);

		n += fuzz_walk_provider(p);
		fuzz_cfg_check(ot_config_find_provider(cfg, p->name) != NULL, "provider not found");
	}
	for (size_t i = 0; i < ot_config_account_count(cfg); i++) {
		const ot_account *a = ot_config_account(cfg, i);

		fuzz_cfg_check(a->name && a->provider, "account without name or provider");
		fuzz_cfg_check(ot_config_find_account(cfg, a->name) == a,
		               "account names not unique");
		n += fuzz_len(a->name) + fuzz_len(a->scope) + fuzz_len(a->endpoint) +
		     fuzz_len(ot_grant_name(a->grant));
	}
	ot_config_set_store_path(cfg, "/nonexistent-oauthtop-fuzz/store.db");
	return n;
}

int fuzz_config_one(const uint8_t *data, size_t size)
{
	ot_err err;
	ot_config *cfg;
	char url[256];
	size_t n;

	memset(&err, 0, sizeof(err));
	cfg = ot_config_parse((const char *)data, size, FUZZ_CONFIG_PATH, &err);
	if (cfg) {
		(void)fuzz_walk(cfg);
		ot_config_free(cfg);
	} else {
		n = strnlen(err.msg, sizeof(err.msg));
		fuzz_cfg_check(n > 0 && n < sizeof(err.msg), "failure without a message");
		fuzz_cfg_check(memchr(err.msg, '\n', n) == NULL, "error message not one line");
	}
	n = size < sizeof(url) - 1 ? size : sizeof(url) - 1;
	memcpy(url, data, n);
	url[n] = '\0';
	(void)ot_url_allowed(url);
	return 0;
}

#ifndef OT_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_config_one(data, size);
}
#endif
