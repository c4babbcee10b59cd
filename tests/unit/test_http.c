/* test_http.c - the token request as built by the HTTP client: form encoding, client
 * authentication (RFC 6749 §2.3.1), what is sent and what is not, refused URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"

static ot_provider provider(ot_auth_method m, const char *id, const char *secret)
{
	ot_provider p;

	memset(&p, 0, sizeof(p));
	p.name = "p";
	p.token_url = "https://idp.example/token";
	p.client_id = id;
	p.client_secret = secret;
	p.auth_method = m;
	p.max_concurrency = 8;
	return p;
}

static ot_account account(const ot_provider *p, ot_grant g, const char *scope)
{
	ot_account a;

	memset(&a, 0, sizeof(a));
	a.name = "acct";
	a.provider = p;
	a.grant = g;
	a.scope = scope;
	a.enabled = true;
	return a;
}

/* Decodes standard base64 (test helper; no validation beyond the alphabet). */
static size_t b64_decode(const char *in, unsigned char *out)
{
	static const char tab[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned v = 0;
	int bits = 0;
	size_t n = 0;

	for (; *in && *in != '='; in++) {
		const char *p = strchr(tab, *in);
		assert_non_null(p);
		v = v << 6 | (unsigned)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	out[n] = '\0';
	return n;
}

static void test_form_encoding(void **state)
{
	ot_form f = {0};

	(void)state;
	ot_form_add(&f, "grant_type", "refresh_token");
	ot_form_add(&f, "refresh_token", "a+b/c=d%e&f g~h.i_j-k");
	ot_form_add(&f, "empty", "");
	assert_string_equal(f.buf,
	                    "grant_type=refresh_token&refresh_token=a%2Bb%2Fc%3Dd%25e%26f%20g"
	                    "~h.i_j-k&empty=");
	assert_int_equal(f.len, strlen(f.buf));
	ot_form_clear(&f);
	assert_null(f.buf);
	/* Large values grow the buffer (tokens have no fixed size). */
	{
		char *big = malloc(5001);
		assert_non_null(big);
		memset(big, 'x', 5000);
		big[5000] = '\0';
		ot_form_add(&f, "refresh_token", big);
		assert_int_equal(f.len, strlen("refresh_token=") + 5000);
		free(big);
		ot_form_clear(&f);
	}
}

static void test_basic_auth_encodes_before_base64(void **state)
{
	ot_provider p = provider(OT_AUTH_BASIC, "my client", "p+s/=%:x&y");
	ot_account a = account(&p, OT_GRANT_REFRESH_TOKEN, NULL);
	ot_http_spec s;
	ot_err err;
	unsigned char dec[256];

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&a, "RT1", 10, 30, &s, &err), 0);
	assert_non_null(s.authorization);
	assert_memory_equal(s.authorization, "Basic ", 6);
	b64_decode(s.authorization + 6, dec);
	assert_string_equal((char *)dec, "my%20client:p%2Bs%2F%3D%25%3Ax%26y");
	/* Basic: neither the id nor the secret in the body. */
	assert_string_equal(s.form.buf, "grant_type=refresh_token&refresh_token=RT1");
	assert_string_equal(s.url, "https://idp.example/token");
	assert_int_equal(s.total_timeout, 30);
	ot_http_spec_clear(&s);
	assert_null(s.authorization);
}

static void test_post_and_none(void **state)
{
	ot_provider p = provider(OT_AUTH_POST, "cid", "se cret");
	ot_provider q = provider(OT_AUTH_NONE, "pub", NULL);
	ot_account a = account(&p, OT_GRANT_REFRESH_TOKEN, NULL);
	ot_account b = account(&q, OT_GRANT_REFRESH_TOKEN, NULL);
	ot_http_spec s;
	ot_err err;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&a, "RT", 10, 30, &s, &err), 0);
	assert_null(s.authorization);
	assert_string_equal(s.form.buf, "grant_type=refresh_token&refresh_token=RT&client_id=cid"
	                                "&client_secret=se%20cret");
	ot_http_spec_clear(&s);
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&b, "RT", 10, 30, &s, &err), 0);
	assert_null(s.authorization);
	assert_string_equal(s.form.buf, "grant_type=refresh_token&refresh_token=RT&client_id=pub");
	assert_null(strstr(s.form.buf, "client_secret"));
	ot_http_spec_clear(&s);
}

static void test_scope_extra_params_and_client_credentials(void **state)
{
	ot_provider p = provider(OT_AUTH_BASIC, "c", "s");
	ot_kv extra[] = {{"audience", "https://api/x"}, {"resource", "r 1"}};
	ot_account a, cc;
	ot_http_spec s;
	ot_err err;

	(void)state;
	p.extra_params = extra;
	p.n_extra_params = 2;
	a = account(&p, OT_GRANT_REFRESH_TOKEN, "read write");
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&a, "RT", 10, 30, &s, &err), 0);
	assert_string_equal(s.form.buf,
	                    "grant_type=refresh_token&refresh_token=RT&scope=read%20write"
	                    "&audience=https%3A%2F%2Fapi%2Fx&resource=r%201");
	ot_http_spec_clear(&s);
	/* client_credentials: no refresh token involved, scope only when set. */
	cc = account(&p, OT_GRANT_CLIENT_CREDENTIALS, NULL);
	p.n_extra_params = 0;
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&cc, NULL, 10, 30, &s, &err), 0);
	assert_string_equal(s.form.buf, "grant_type=client_credentials");
	assert_non_null(s.authorization);
	ot_http_spec_clear(&s);
}

static void test_refusals(void **state)
{
	ot_provider p = provider(OT_AUTH_BASIC, "c", "s");
	ot_account a = account(&p, OT_GRANT_REFRESH_TOKEN, NULL);
	ot_http_spec s;
	ot_err err;

	(void)state;
	memset(&s, 0, sizeof(s));
	/* No refresh token: nothing to send. */
	assert_int_equal(ot_http_token_spec(&a, NULL, 10, 30, &s, &err), -1);
	assert_non_null(strstr(err.msg, "no refresh token"));
	assert_int_equal(ot_http_token_spec(&a, "", 10, 30, &s, &err), -1);
	ot_http_spec_clear(&s);
	/* Plain http only to loopback. */
	p.token_url = "http://idp.example/token";
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&a, "RT", 10, 30, &s, &err), -1);
	assert_non_null(strstr(err.msg, "https"));
	ot_http_spec_clear(&s);
	p.token_url = "http://127.0.0.1:8080/token";
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&a, "RT", 10, 30, &s, &err), 0);
	ot_http_spec_clear(&s);
	p.token_url = NULL;
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&a, "RT", 10, 30, &s, &err), -1);
	ot_http_spec_clear(&s);
}

/* A request to a port nobody listens on fails as a transport error, before anything was
 * sent (so it is not a lost answer). */
static void test_fetch_refused(void **state)
{
	ot_http_spec s;
	ot_err err;
	ot_http_req *r;
	ot_http_result res;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.url = "http://127.0.0.1:1/token";
	s.connect_timeout = 2;
	s.total_timeout = 2;
	ot_form_add(&s.form, "grant_type", "refresh_token");
	r = ot_http_fetch(&s, &err);
	assert_non_null(r);
	assert_null(s.form.buf); /* taken over */
	ot_http_req_result(r, &res);
	assert_int_not_equal(res.transport_error, 0);
	assert_non_null(strstr(res.transport_msg, "connection failed"));
	assert_int_equal(res.status, 0);
	assert_false(ot_http_req_answer_lost(r));
	ot_http_req_free(r);
}

static void test_protocols_restricted(void **state)
{
	ot_http_spec s;
	ot_err err;
	ot_http_req *r;
	ot_http_result res;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.url = "file:///etc/passwd";
	r = ot_http_fetch(&s, &err);
	assert_non_null(r);
	ot_http_req_result(r, &res);
	assert_int_not_equal(res.transport_error, 0);
	assert_int_equal(res.body_len, 0);
	ot_http_req_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_form_encoding),
	        cmocka_unit_test(test_basic_auth_encodes_before_base64),
	        cmocka_unit_test(test_post_and_none),
	        cmocka_unit_test(test_scope_extra_params_and_client_credentials),
	        cmocka_unit_test(test_refusals),
	        cmocka_unit_test(test_fetch_refused),
	        cmocka_unit_test(test_protocols_restricted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
