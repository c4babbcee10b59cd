/* test_discovery.c - metadata URLs (OIDC and RFC 8414 with a path), the document checks
 * (issuer equality, allowed endpoints, S256), and applying: the store cache, configured
 * endpoints winning, CACHE_ONLY, a stale document used when fetching fails. No network but a
 * refused connection to 127.0.0.1:1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "oauthtop/config.h"
#include "oauthtop/discovery.h"
#include "oauthtop/log.h"
#include "oauthtop/store.h"

#define NOW INT64_C(1764084000)

static char dir[64];

static const char doc_full[] = "{\"issuer\":\"https://idp.example\","
                               "\"token_endpoint\":\"https://idp.example/token\","
                               "\"device_authorization_endpoint\":\"https://idp.example/device\","
                               "\"authorization_endpoint\":\"https://idp.example/auth\","
                               "\"revocation_endpoint\":\"https://idp.example/revoke\","
                               "\"introspection_endpoint\":\"https://idp.example/introspect\","
                               "\"userinfo_endpoint\":\"https://idp.example/me\","
                               "\"code_challenge_methods_supported\":[\"plain\",\"S256\"],"
                               "\"grant_types_supported\":[\"refresh_token\"]}";

static void test_urls(void **state)
{
	char a[256], b[256];

	(void)state;
	assert_int_equal(ot_discovery_urls("https://idp.example", a, b, sizeof(a)), 0);
	assert_string_equal(a, "https://idp.example/.well-known/openid-configuration");
	assert_string_equal(b, "https://idp.example/.well-known/oauth-authorization-server");
	assert_int_equal(ot_discovery_urls("https://idp.example/realms/x/", a, b, sizeof(a)), 0);
	assert_string_equal(a, "https://idp.example/realms/x/.well-known/openid-configuration");
	assert_string_equal(b,
	                    "https://idp.example/.well-known/oauth-authorization-server/realms/x");
	assert_int_equal(ot_discovery_urls("http://127.0.0.1:8080", a, b, sizeof(a)), 0);
	assert_string_equal(b, "http://127.0.0.1:8080/.well-known/oauth-authorization-server");
	assert_int_equal(ot_discovery_urls("ftp://idp.example", a, b, sizeof(a)), -1);
	assert_int_equal(ot_discovery_urls("https://idp.example/long", a, b, 20), -1);
}

static void test_parse_full(void **state)
{
	ot_discovered d;
	ot_err err = {{0}};

	(void)state;
	assert_int_equal(
	        ot_discovery_parse(doc_full, strlen(doc_full), "https://idp.example", &d, &err), 0);
	assert_string_equal(d.issuer, "https://idp.example");
	assert_string_equal(d.token_url, "https://idp.example/token");
	assert_string_equal(d.device_authorization_url, "https://idp.example/device");
	assert_string_equal(d.authorization_url, "https://idp.example/auth");
	assert_string_equal(d.revocation_url, "https://idp.example/revoke");
	assert_string_equal(d.introspection_url, "https://idp.example/introspect");
	assert_string_equal(d.userinfo_url, "https://idp.example/me");
	assert_true(d.s256);
	ot_discovered_free(&d);
	assert_null(d.token_url);
}

static int parse(const char *doc, const char *issuer, ot_discovered *d, ot_err *err)
{
	memset(err, 0, sizeof(*err));
	return ot_discovery_parse(doc, strlen(doc), issuer, d, err);
}

static void test_parse_issuer(void **state)
{
	ot_discovered d;
	ot_err err;

	(void)state;
	assert_int_equal(parse(doc_full, "https://idp.example.evil", &d, &err), -1);
	assert_non_null(strstr(err.msg, "issuer mismatch"));
	assert_non_null(strstr(err.msg, "https://idp.example.evil"));
	assert_null(d.token_url);
	/* one trailing slash either way is the same issuer */
	assert_int_equal(parse(doc_full, "https://idp.example/", &d, &err), 0);
	ot_discovered_free(&d);
	assert_int_equal(
	        parse("{\"issuer\":\"https://a.example/\"}", "https://a.example", &d, &err), 0);
	ot_discovered_free(&d);
	assert_int_equal(
	        parse("{\"issuer\":\"https://a.example//\"}", "https://a.example", &d, &err), -1);
	assert_int_equal(parse("{\"token_endpoint\":\"https://a.example/t\"}", "https://a.example",
	                       &d, &err),
	                 -1);
	assert_non_null(strstr(err.msg, "no issuer"));
	assert_int_equal(parse("<html>login</html>", "https://a.example", &d, &err), -1);
	assert_int_equal(parse("[1,2]", "https://a.example", &d, &err), -1);
}

static void test_parse_endpoints(void **state)
{
	ot_discovered d;
	ot_err err;

	(void)state;
	/* plain http only to loopback */
	assert_int_equal(parse("{\"issuer\":\"https://a.example\",\"token_endpoint\":"
	                       "\"http://a.example/token\"}",
	                       "https://a.example", &d, &err),
	                 -1);
	assert_non_null(strstr(err.msg, "token_endpoint"));
	assert_int_equal(parse("{\"issuer\":\"http://127.0.0.1:9\",\"token_endpoint\":"
	                       "\"http://127.0.0.1:9/token\",\"revocation_endpoint\":null,"
	                       "\"introspection_endpoint\":\"\"}",
	                       "http://127.0.0.1:9", &d, &err),
	                 0);
	assert_string_equal(d.token_url, "http://127.0.0.1:9/token");
	assert_null(d.revocation_url);
	assert_null(d.introspection_url);
	assert_true(d.s256); /* no list: assume S256 */
	ot_discovered_free(&d);
	assert_int_equal(parse("{\"issuer\":\"https://a.example\",\"token_endpoint\":42}",
	                       "https://a.example", &d, &err),
	                 -1);
	assert_int_equal(parse("{\"issuer\":\"https://a.example\","
	                       "\"code_challenge_methods_supported\":[\"plain\"]}",
	                       "https://a.example", &d, &err),
	                 0);
	assert_false(d.s256);
	ot_discovered_free(&d);
}

/* ---- applying ----------------------------------------------------------------------- */

typedef struct fixture {
	ot_config *cfg;
	ot_store *st;
} fixture;

static int fx_setup(void **state)
{
	static fixture fx;
	char text[2048], path[128];
	ot_err err = {{0}};

	snprintf(dir, sizeof(dir), "/tmp/ot-test-disc.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/st/oauthtop.db", dir);
	snprintf(text, sizeof(text),
	         "{\"store\":\"%s\",\"providers\":{"
	         "\"p\":{\"issuer\":\"https://idp.example\",\"client_id\":\"c\","
	         "\"auth_method\":\"none\"},"
	         "\"q\":{\"issuer\":\"https://idp.example\",\"client_id\":\"c\","
	         "\"auth_method\":\"none\",\"token_url\":\"https://own.example/token\"},"
	         "\"plain\":{\"token_url\":\"https://plain.example/token\",\"client_id\":\"c\","
	         "\"auth_method\":\"none\"},"
	         "\"down\":{\"issuer\":\"http://127.0.0.1:1\",\"client_id\":\"c\","
	         "\"auth_method\":\"none\"}},"
	         "\"accounts\":[{\"name\":\"a\",\"provider\":\"p\"}]}",
	         path);
	fx.cfg = ot_config_parse(text, strlen(text), "test.json", &err);
	if (!fx.cfg) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	fx.st = ot_store_open(path, 0, &err);
	if (!fx.st) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = &fx;
	return 0;
}

static int fx_teardown(void **state)
{
	fixture *fx = *state;
	char cmd[128];

	ot_store_close(fx->st);
	ot_config_free(fx->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void cache_put(ot_store *st, const char *issuer, int64_t at, const char *doc)
{
	char key[256], *value;
	size_t n = strlen(doc) + 128;
	ot_err err = {{0}};

	value = malloc(n);
	assert_non_null(value);
	snprintf(key, sizeof(key), "discovery:%s", issuer);
	snprintf(value, n, "{\"fetched_at\":%lld,\"source\":\"test\",\"metadata\":%s}",
	         (long long)at, doc);
	assert_int_equal(ot_store_meta_set(st, key, value, &err), 0);
	free(value);
}

static void test_apply_cache(void **state)
{
	fixture *fx = *state;
	const ot_provider *p = ot_config_find_provider(fx->cfg, "p");
	const ot_provider *q = ot_config_find_provider(fx->cfg, "q");
	ot_err err = {{0}};

	/* nothing cached and cache only: nothing to do, nothing filled */
	assert_int_equal(
	        ot_discovery_apply(fx->cfg, "p", fx->st, NOW, OT_DISCOVERY_CACHE_ONLY, &err), 0);
	assert_null(p->token_url);
	/* a provider without issuer has nothing to discover */
	assert_int_equal(ot_discovery_apply(fx->cfg, "plain", fx->st, NOW, 0, &err), 0);
	assert_int_equal(ot_discovery_apply(fx->cfg, "nope", fx->st, NOW, 0, &err), -1);

	/* a fresh cached document is used without fetching */
	cache_put(fx->st, "https://idp.example", NOW - 60, doc_full);
	assert_int_equal(ot_discovery_apply(fx->cfg, "p", fx->st, NOW, 0, &err), 1);
	assert_string_equal(p->token_url, "https://idp.example/token");
	assert_string_equal(p->device_authorization_url, "https://idp.example/device");
	assert_string_equal(p->authorization_url, "https://idp.example/auth");
	assert_string_equal(p->revocation_url, "https://idp.example/revoke");
	assert_string_equal(p->introspection_url, "https://idp.example/introspect");
	/* a configured endpoint wins over the document */
	assert_int_equal(ot_discovery_apply(fx->cfg, "q", fx->st, NOW, 0, &err), 1);
	assert_string_equal(q->token_url, "https://own.example/token");
	assert_string_equal(q->revocation_url, "https://idp.example/revoke");
}

static void test_apply_cache_checked(void **state)
{
	fixture *fx = *state;
	const ot_provider *p = ot_config_find_provider(fx->cfg, "p");
	ot_err err = {{0}};

	/* a cached document for another issuer is never used */
	cache_put(fx->st, "https://idp.example", NOW,
	          "{\"issuer\":\"https://evil.example\","
	          "\"token_endpoint\":\"https://evil.example/t\"}");
	assert_int_equal(
	        ot_discovery_apply(fx->cfg, "p", fx->st, NOW, OT_DISCOVERY_CACHE_ONLY, &err), 0);
	assert_true(p->token_url == NULL || strstr(p->token_url, "evil") == NULL);
}

static void test_apply_stale_fallback(void **state)
{
	fixture *fx = *state;
	const ot_provider *d = ot_config_find_provider(fx->cfg, "down");
	ot_err err = {{0}};
	static const char doc[] = "{\"issuer\":\"http://127.0.0.1:1\","
	                          "\"token_endpoint\":\"http://127.0.0.1:1/token\"}";

	/* no cache and the server is down: an error naming the provider */
	assert_int_equal(ot_discovery_apply(fx->cfg, "down", fx->st, NOW, 0, &err), -1);
	assert_non_null(strstr(err.msg, "provider down"));
	assert_non_null(strstr(err.msg, "discovery failed"));
	assert_null(d->token_url);
	/* a two-day-old document is refetched; the fetch fails; the old one is used */
	cache_put(fx->st, "http://127.0.0.1:1", NOW - 2 * 86400, doc);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ot_discovery_apply(fx->cfg, "down", fx->st, NOW, 0, &err), 1);
	assert_string_equal(d->token_url, "http://127.0.0.1:1/token");
	/* apply_all: p from the cache, down from the stale one, plain untouched */
	cache_put(fx->st, "https://idp.example", NOW, doc_full);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ot_discovery_apply_all(fx->cfg, fx->st, NOW, 0, &err), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_urls),
	        cmocka_unit_test(test_parse_full),
	        cmocka_unit_test(test_parse_issuer),
	        cmocka_unit_test(test_parse_endpoints),
	        cmocka_unit_test_setup_teardown(test_apply_cache, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_apply_cache_checked, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_apply_stale_fallback, fx_setup, fx_teardown),
	};

	ot_log_setup(OT_LOG_TEXT, OT_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
