/* fuzz_token.c - libFuzzer harness for the token-endpoint answer parser and classifier
 * (include/oauthtop/token.h): ot_token_parse, ot_token_classify, ot_parse_retry_after,
 * ot_token_apply. Input: the whole input is parsed as a body; then byte 0 picks the HTTP
 * status and the rest is the body classified; the bytes after
 * the body's last newline (at most 64) are also tried as Retry-After / X-Rate-Limit-Reset.
 * Besides the sanitizers, broken invariants abort: a verdict reason on one line, a TOKEN
 * answer with a non-empty, printable-ASCII access token, expires_in within [0, 10 years];
 * and the fast reader of flat answers (core/token_json.h), wherever it takes an input, must
 * build the tree cJSON's parser builds from it and end where cJSON ends. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/token_json.h"
#include "fuzz.h"
#include "oauthtop/token.h"

#define FUZZ_NOW       INT64_C(1764084000)
#define FUZZ_TEN_YEARS (INT64_C(10) * 366 * 86400)

static const long fuzz_statuses[] = {200, 200, 200, 400, 401, 403, 429, 500, 502, 503, 302, 0};

static void fuzz_check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_token: invariant broken: %s\n", what);
		abort();
	}
}

static void fuzz_check_line(const char *s, size_t cap, const char *what)
{
	size_t n = strnlen(s, cap);

	fuzz_check(n < cap, what);
	for (size_t i = 0; i < n; i++)
		fuzz_check(s[i] != '\n' && s[i] != '\r', what);
}

/* Token values are VSCHAR (RFC 6749 Appendix A): printable ASCII and space. */
static int fuzz_vschar(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* parsed: the answer came from ot_token_parse (the classifier leaves it zeroed, MALFORMED
 * without a reason, when there was no body to parse: transport errors). */
static void fuzz_check_answer(const ot_token_answer *a, int parsed)
{
	if (a->kind == OT_ANSWER_TOKEN) {
		fuzz_check(a->access_token && *a->access_token, "TOKEN without access_token");
		fuzz_check(fuzz_vschar(a->access_token), "access_token not VSCHAR");
		fuzz_check(fuzz_vschar(a->refresh_token), "refresh_token not VSCHAR");
		fuzz_check(a->expires_in >= 0 && a->expires_in <= FUZZ_TEN_YEARS,
		           "expires_in out of [0, 10 years]");
		fuzz_check(a->refresh_token == NULL || *a->refresh_token,
		           "empty refresh_token kept");
	}
	if (a->kind == OT_ANSWER_MALFORMED && parsed)
		fuzz_check(a->malformed_reason != NULL, "MALFORMED without a reason");
	fuzz_check(a->refresh_expires_in >= 0, "negative refresh_expires_in");
}

static void fuzz_apply(const ot_token_answer *a)
{
	ot_provider p;
	ot_credential c;

	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	p.name = "fuzz";
	p.default_expires_in = 3600;
	ot_credential_set_str(&c.account, "fuzz");
	ot_credential_set_str(&c.refresh_token, "R1");
	c.has_refresh_token = 1;
	ot_token_apply(&c, a, FUZZ_NOW, &p);
	fuzz_check(c.refresh_token != NULL, "refresh token lost by apply");
	fuzz_check(c.access_expires_at == 0 || c.access_expires_at >= FUZZ_NOW,
	           "access expiry before the request was sent");
	ot_credential_clear(&c);
}

/* The bytes after the last newline, NUL-terminated, into out (empty when none). */
static void fuzz_tail(const uint8_t *data, size_t size, char *out, size_t outlen)
{
	const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
	const uint8_t *last = NULL;
	size_t n;

	while (nl) {
		last = nl;
		nl = memchr(nl + 1, '\n', size - (size_t)(nl + 1 - data));
	}
	out[0] = '\0';
	if (!last)
		return;
	n = size - (size_t)(last + 1 - data);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, last + 1, n);
	out[n] = '\0';
}

static char *fuzz_copy(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	fuzz_check(s != NULL, "out of memory");
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static int fuzz_same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Node by node, in order (cJSON_Compare looks object members up by name, so an answer with a
 * repeated key compares unequal to itself). */
static int fuzz_same_tree(const cJSON *a, const cJSON *b)
{
	for (; a && b; a = a->next, b = b->next) {
		if ((a->type & 0xff) != (b->type & 0xff) || !fuzz_same_str(a->string, b->string) ||
		    !fuzz_same_str(a->valuestring, b->valuestring) || a->valueint != b->valueint ||
		    memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0 ||
		    !fuzz_same_tree(a->child, b->child))
			return 0;
	}
	return a == b;
}

/* The fast reader against cJSON: same tree, same end, the text given back unchanged. */
static void fuzz_flat_differential(const uint8_t *data, size_t size)
{
	char *a, *b;
	const char *end_a = NULL, *end_b = NULL;
	cJSON *fast, *ref;

	if (!size || data[0] != '{')
		return;
	a = fuzz_copy(data, size);
	fast = ot_token_json_flat(a, size, &end_a);
	fuzz_check(memcmp(a, data, size) == 0, "flat reader left the text changed");
	if (fast) {
		b = fuzz_copy(data, size);
		ref = cJSON_ParseWithLengthOpts(b, size, &end_b, 0);
		fuzz_check(ref != NULL, "flat reader took what cJSON refuses");
		fuzz_check(fuzz_same_tree(fast, ref), "flat reader's tree differs from cJSON's");
		fuzz_check(end_a - a == end_b - b, "flat reader ends elsewhere than cJSON");
		cJSON_Delete(ref);
		cJSON_Delete(fast);
		free(b);
	}
	free(a);
}

int fuzz_token_one(const uint8_t *data, size_t size)
{
	ot_token_answer a;
	ot_http_result r;
	ot_verdict v;
	char tail[65];
	const char *body = size > 1 ? (const char *)data + 1 : "";

	fuzz_flat_differential(data, size);
	ot_token_parse((const char *)data, size, &a);
	fuzz_check_answer(&a, 1);
	if (a.kind == OT_ANSWER_TOKEN)
		fuzz_apply(&a);
	ot_token_answer_free(&a);

	fuzz_tail(data, size, tail, sizeof(tail));
	memset(&r, 0, sizeof(r));
	r.status =
	        size ? fuzz_statuses[data[0] % (sizeof(fuzz_statuses) / sizeof(fuzz_statuses[0]))]
	             : 200;
	r.transport_error = r.status == 0;
	r.transport_msg = r.status == 0 ? "timeout after 3 s" : NULL;
	r.body = body;
	r.body_len = size > 1 ? size - 1 : 0;
	r.retry_after = tail[0] ? tail : NULL;
	r.rate_limit_reset = tail[0] ? tail : NULL;
	ot_token_classify(&r, FUZZ_NOW, &v);
	fuzz_check_answer(&v.answer, 0);
	if (v.outcome == OT_OUTCOME_OK)
		fuzz_apply(&v.answer);
	fuzz_check_line(v.reason, sizeof(v.reason), "verdict reason not one line");
	fuzz_check_line(v.error_code, sizeof(v.error_code), "error code not one line");
	fuzz_check(v.outcome != OT_OUTCOME_OK || v.answer.kind == OT_ANSWER_TOKEN,
	           "OK verdict without a token answer");
	ot_token_answer_free(&v.answer);

	(void)ot_parse_retry_after(tail, FUZZ_NOW);
	return 0;
}

#ifndef OT_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_token_one(data, size);
}
#endif
