/* token.c - the one parser of token-endpoint answers (RFC 6749 §5.1/§5.2), the classifier of
 * a refresh attempt (DESIGN §3 step 5), Retry-After, applying an answer, and backoff.
 *
 * The parser decides by the body, never by the content type: a JSON object, else a
 * form-encoded body (GitHub without Accept), else malformed. JSON and form bodies become the
 * same cJSON object so that one set of member rules applies to both. */
#include "oauthtop/token.h"
#include "core/token_json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TOKEN_MAX_DEPTH   32
#define TOKEN_MAX_SECONDS INT64_C(315360000) /* 10 years */
#define TOKEN_TEXT_MAX    120                /* printed server text, in characters */
#define TOKEN_REDACT_RUN  40                 /* a run of token characters this long is redacted */
#define TOKEN_HEX_RUN     20                 /* a UUID / hex run this long is redacted */
#define RETRY_CAP         INT64_C(86400)

/* ---- small helpers ------------------------------------------------------------------ */

static void *token_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	return p;
}

static int token_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int token_is_tokenchar(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

static int token_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int token_is_hexish(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       c == '-';
}

/* Eight bytes at a time (SWAR): tokens are kilobytes long and every byte of them is checked;
 * a byte loop with an early exit is not vectorised. Loads are memcpy (any alignment) and
 * never go past n. */
#define SWAR_ONES  UINT64_C(0x0101010101010101)
#define SWAR_HIGHS UINT64_C(0x8080808080808080)

static uint64_t swar_load(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Nonzero when some byte of w is below b (b <= 0x80). */
static uint64_t swar_less(uint64_t w, unsigned b)
{
	return (w - SWAR_ONES * b) & ~w & SWAR_HIGHS;
}

/* Nonzero when some byte of w equals b. */
static uint64_t swar_eq(uint64_t w, unsigned b)
{
	return swar_less(w ^ (SWAR_ONES * b), 1);
}

/* Nonzero when some byte of w is not printable ASCII (below 0x20, 0x7f or above). A carry
 * out of a 0xff byte only reaches bytes above one already flagged. */
static uint64_t swar_unprintable(uint64_t w)
{
	return swar_less(w, 0x20) | (((w + SWAR_ONES) | w) & SWAR_HIGHS);
}

/* 1 when the n bytes at s are all printable ASCII (0x20..0x7e). */
static int token_printable(const char *s, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		if (swar_unprintable(swar_load(s + i)))
			return 0;
	for (; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* A UUID or hex value inside a run of token characters: TOKEN_HEX_RUN hex digits or dashes
 * in a row, at least 16 of them digits (a UUID refresh token, a hex opaque token). */
static int token_hexish_run(const unsigned char *s, size_t run)
{
	size_t len = 0, digits = 0;

	for (size_t i = 0; i < run; i++) {
		if (!token_is_hexish(s[i])) {
			len = digits = 0;
			continue;
		}
		len++;
		digits += s[i] != '-';
		if (len >= TOKEN_HEX_RUN && digits >= 16)
			return 1;
	}
	return 0;
}

/* Printable ASCII copy of server text: other bytes become '?', a long run of token
 * characters (a token the server echoed back), or a UUID / hex-shaped run of 20 or more,
 * becomes "[redacted]", at most 120 chars. */
static char *token_sanitize(const char *src)
{
	size_t cap = TOKEN_TEXT_MAX + 16, o = 0;
	char *out = token_alloc(cap);
	const unsigned char *s = (const unsigned char *)src;
	size_t i;
	int cut = 0; /* a run was cut short: the text ends with "..." */

	while (*s && o < TOKEN_TEXT_MAX) {
		size_t run = 0;
		while (token_is_tokenchar(s[run]))
			run++;
		if (run >= TOKEN_REDACT_RUN || token_hexish_run(s, run)) {
			o += (size_t)snprintf(out + o, cap - o, "[redacted]");
			s += run;
			continue;
		}
		if (!run)
			run = 1;
		for (i = 0; i < run && o < TOKEN_TEXT_MAX; i++)
			out[o++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
		cut |= i < run;
		s += run;
	}
	if ((*s || cut) && o >= TOKEN_TEXT_MAX)
		o = TOKEN_TEXT_MAX - 3 + (size_t)snprintf(out + TOKEN_TEXT_MAX - 3, 4, "...");
	out[o] = '\0';
	return out;
}

/* Tokens travel in HTTP headers and forms: a control character (CR, LF, NUL...) is refused. */
static int token_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Wipes every string value of a cJSON tree: the tree holds tokens. Depth is bounded by the
 * pre-scan (JSON) or is 1 (form). */
static void token_json_wipe(cJSON *item)
{
	for (; item; item = item->next) {
		if (item->valuestring)
			ot_wipe(item->valuestring, strlen(item->valuestring));
		token_json_wipe(item->child);
	}
}

static void token_json_wipe_tree(cJSON *root)
{
	if (!root)
		return;
	token_json_wipe(root->child);
	if (root->valuestring)
		ot_wipe(root->valuestring, strlen(root->valuestring));
	cJSON_Delete(root);
}

/* ---- the answer record -------------------------------------------------------------- */

void ot_token_answer_free(ot_token_answer *a)
{
	if (!a)
		return;
	ot_secret_free(a->access_token);
	ot_secret_free(a->refresh_token);
	ot_secret_free(a->id_token);
	free(a->token_type);
	free(a->scope);
	free(a->error);
	free(a->error_description);
	free(a->malformed_reason);
	memset(a, 0, sizeof(*a));
}

static void answer_malformed(ot_token_answer *a, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Makes a malformed: drops whatever was extracted, keeps only the reason. */
static void answer_malformed(ot_token_answer *a, const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ot_token_answer_free(a);
	a->kind = OT_ANSWER_MALFORMED;
	a->malformed_reason = ot_strdup(buf);
}

/* ---- body -> cJSON object ----------------------------------------------------------- */

typedef struct json_scan {
	int too_deep;
	int open;       /* an unclosed string, object or array: the answer was cut */
	int nul_escape; /* a \\u0000 escape inside a string */
} json_scan;

static int json_is_nul_escape(const char *s, size_t i, size_t n)
{
	return s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0;
}

/* The index of the quote that ends the string whose contents start at i, or n; notes a
 * \\u0000 escape. The contents (the tokens) are skipped eight bytes at a time. */
static size_t json_string_end(const char *s, size_t i, size_t n, json_scan *js)
{
	for (;;) {
		while (i + 8 <= n) {
			uint64_t w = swar_load(s + i);
			if (swar_eq(w, '"') | swar_eq(w, '\\'))
				break;
			i += 8;
		}
		if (i >= n || s[i] == '"')
			return i < n ? i : n;
		if (s[i] == '\\' && i + 1 < n) {
			js->nul_escape |= json_is_nul_escape(s, i, n);
			i++;
		}
		i++;
	}
}

/* Counts nesting outside strings (cJSON recurses, so deep input is refused before it) and
 * notes whether a string holds the escape \\u0000. */
static void json_prescan(const char *s, size_t n, json_scan *js)
{
	int depth = 0;

	memset(js, 0, sizeof(*js));
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '"') {
			i = json_string_end(s, i + 1, n, js);
			if (i >= n) {
				js->open = 1;
				return;
			}
		} else if (c == '{' || c == '[') {
			if (++depth > TOKEN_MAX_DEPTH) {
				js->too_deep = 1;
				return;
			}
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	js->open = depth > 0;
}

/* Rewrites the escape \\u0000 to \\u0001 inside strings so that a NUL cannot shorten a key or
 * a token silently: the control character is refused later where it matters. */
static void json_rewrite_nul_escapes(char *s, size_t n)
{
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!in_str) {
			in_str = c == '"';
		} else if (c == '\\' && i + 1 < n) {
			if (json_is_nul_escape(s, i, n))
				s[i + 5] = '1';
			i++;
		} else if (c == '"') {
			in_str = 0;
		}
	}
}

/* ---- the usual answer without cJSON's parser -------------------------------------------
 * A flat object whose strings have no escape and whose numbers are short integers (the
 * answer of nearly every server) is built here with the same cJSON tree cJSON's parser would
 * make of it - cJSON copies each kilobyte token byte by byte, this finds a string's end eight
 * bytes at a time and copies it whole. Anything else (an escape, a nested value, a fraction,
 * an exponent, a long number, bad syntax) is left to cJSON from the start, so only text
 * cJSON 1.7 accepts the same way is taken: whitespace is any byte up to the space, a number
 * is what strtod reads, true has valueint 1. */

static void *flat_check(void *p)
{
	if (!p) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	return p;
}

static size_t flat_skip_space(const char *s, size_t i, size_t n)
{
	while (i < n && (unsigned char)s[i] <= ' ')
		i++;
	return i;
}

/* The index of the quote that closes the string opened at s[i], or 0 when it holds a
 * backslash or has no end. */
static size_t flat_string_end(const char *s, size_t i, size_t n)
{
	for (i++; i + 8 <= n; i += 8) {
		uint64_t w = swar_load(s + i);
		if (swar_eq(w, '"') | swar_eq(w, '\\'))
			break;
	}
	for (; i < n; i++) {
		if (s[i] == '"')
			return i;
		if (s[i] == '\\')
			return 0;
	}
	return 0;
}

/* The string s[a..b) (s[b] is its closing quote, lent for the terminator). */
static cJSON *flat_string(char *s, size_t a, size_t b)
{
	cJSON *it;

	s[b] = '\0';
	it = flat_check(cJSON_CreateString(s + a));
	s[b] = '"';
	return it;
}

static int flat_number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.';
}

/* -?[0-9]{1,15} and no other number character after it: exactly the value strtod gives. */
static cJSON *flat_number(const char *s, size_t *i, size_t n)
{
	size_t k = *i + (s[*i] == '-'), digits = 0;
	double v = 0;

	for (; k < n && s[k] >= '0' && s[k] <= '9' && digits <= 15; k++, digits++)
		v = v * 10 + (s[k] - '0');
	if (!digits || digits > 15 || (k < n && flat_number_char(s[k])))
		return NULL;
	if (s[*i] == '-')
		v = -v;
	*i = k;
	return flat_check(cJSON_CreateNumber(v));
}

/* The value at s[*i] (moved past it), or NULL to leave the text to cJSON. */
static cJSON *flat_value(char *s, size_t *i, size_t n)
{
	size_t k = *i, e;
	cJSON *it;

	if (k >= n)
		return NULL;
	if (s[k] == '"') {
		if (!(e = flat_string_end(s, k, n)))
			return NULL;
		*i = e + 1;
		return flat_string(s, k + 1, e);
	}
	if (s[k] == '-' || (s[k] >= '0' && s[k] <= '9'))
		return flat_number(s, i, n);
	if (n - k >= 4 && memcmp(s + k, "null", 4) == 0) {
		*i = k + 4;
		return flat_check(cJSON_CreateNull());
	}
	if (n - k >= 5 && memcmp(s + k, "false", 5) == 0) {
		*i = k + 5;
		return flat_check(cJSON_CreateFalse());
	}
	if (n - k >= 4 && memcmp(s + k, "true", 4) == 0) {
		*i = k + 4;
		it = flat_check(cJSON_CreateTrue());
		it->valueint = 1; /* as cJSON's parser sets it */
		return it;
	}
	return NULL;
}

/* Adds "key": value, the key being s[a..b) (s[b] its closing quote, lent for the NUL). */
static void flat_add(cJSON *o, char *s, size_t a, size_t b, cJSON *v)
{
	s[b] = '\0';
	if (!cJSON_AddItemToObject(o, s + a, v))
		flat_check(NULL);
	s[b] = '"';
}

/* token_json.h. The object in s[0..n) (s[0] is '{'), *end just past its '}'; NULL: left to
 * cJSON (s is as it was). */
cJSON *ot_token_json_flat(char *s, size_t n, const char **end)
{
	cJSON *o = flat_check(cJSON_CreateObject());
	size_t i = flat_skip_space(s, 1, n);

	if (i < n && s[i] == '}')
		goto done;
	for (;;) {
		size_t ke = i < n && s[i] == '"' ? flat_string_end(s, i, n) : 0, j;
		cJSON *v;
		if (!ke)
			goto other;
		j = flat_skip_space(s, ke + 1, n);
		if (j >= n || s[j] != ':')
			goto other;
		j = flat_skip_space(s, j + 1, n);
		if (!(v = flat_value(s, &j, n)))
			goto other;
		flat_add(o, s, i + 1, ke, v);
		i = flat_skip_space(s, j, n);
		if (i < n && s[i] == ',') {
			i = flat_skip_space(s, i + 1, n);
			continue;
		}
		if (i < n && s[i] == '}')
			break;
		goto other;
	}
done:
	*end = s + i + 1;
	return o;
other:
	token_json_wipe_tree(o);
	return NULL;
}

static cJSON *json_parse_object(const char *s, size_t n, const char **why)
{
	char *copy = token_alloc(n + 1);
	const char *end = NULL;
	cJSON *o = NULL;
	json_scan js;

	memcpy(copy, s, n);
	copy[n] = '\0';
	if (copy[0] == '{' && (o = ot_token_json_flat(copy, n, &end))) {
		/* The usual answer, read once. The text after it still counts for the nesting
		 * limit, as when the pre-scan ran first (the object leaves depth 0 behind). */
		json_prescan(end, n - (size_t)(end - copy), &js);
	} else {
		json_prescan(copy, n, &js);
		if (js.nul_escape && !js.too_deep)
			json_rewrite_nul_escapes(copy, n);
		if (!js.too_deep)
			o = cJSON_ParseWithLengthOpts(copy, n, &end, 0);
	}
	if (js.too_deep) {
		token_json_wipe_tree(o);
		*why = "JSON nesting too deep";
		o = NULL;
		goto out;
	}
	if (!o) {
		*why = js.open ? "truncated JSON" : "invalid JSON";
		goto out;
	}
	while (end && end < copy + n && token_is_space((unsigned char)*end))
		end++;
	if (!cJSON_IsObject(o))
		*why = "JSON but not an object";
	else if (end && end < copy + n)
		*why = "trailing data after the JSON object";
	if (*why) {
		token_json_wipe_tree(o);
		o = NULL;
	}
out:
	ot_wipe(copy, n);
	free(copy);
	return o;
}

static int form_char_ok(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-._~%+=&*!'(),;:/@$", c));
}

static int form_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = token_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes n bytes ('+' is a space); a decoded NUL becomes 0x01 (refused later in a
 * token like any control character). NULL on a bad escape. */
static char *form_decode(const char *s, size_t n)
{
	char *out = token_alloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < n ? form_hex(s[i + 1]) : -1;
			int lo = hi >= 0 ? form_hex(s[i + 2]) : -1;
			if (lo < 0) {
				ot_wipe(out, o);
				free(out);
				return NULL;
			}
			c = hi * 16 + lo;
			c = c ? c : 1;
			i += 2;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

/* Adds one k=v pair; the first occurrence of a key wins, as for JSON. -1 if not a pair. */
static int form_add_pair(cJSON *o, const char *p, size_t n)
{
	const char *eq = memchr(p, '=', n);
	char *key, *val;
	int rc = -1;

	if (!eq || eq == p)
		return -1;
	key = form_decode(p, (size_t)(eq - p));
	val = form_decode(eq + 1, n - (size_t)(eq - p) - 1);
	if (key && val) {
		rc = 0;
		if (!cJSON_GetObjectItemCaseSensitive(o, key) &&
		    !cJSON_AddStringToObject(o, key, val)) {
			fputs("oauthtop: out of memory\n", stderr);
			abort();
		}
	}
	ot_secret_free(key);
	ot_secret_free(val);
	return rc;
}

/* `k=v&k2=v2` with only form characters; NULL if the body does not look like that. */
static cJSON *form_parse_object(const char *s, size_t n)
{
	cJSON *o;
	size_t i = 0;

	while (n && token_is_space((unsigned char)s[n - 1]))
		n--;
	if (!n || !memchr(s, '=', n))
		return NULL;
	for (size_t k = 0; k < n; k++)
		if (!form_char_ok((unsigned char)s[k]))
			return NULL;
	o = cJSON_CreateObject();
	if (!o)
		abort();
	while (i < n) {
		const char *amp = memchr(s + i, '&', n - i);
		size_t len = amp ? (size_t)(amp - (s + i)) : n - i;
		if (len && form_add_pair(o, s + i, len) < 0) {
			token_json_wipe_tree(o);
			return NULL;
		}
		i += len + 1;
	}
	return o;
}

/* Any JSON value that is not an object (null, [], 12, "x")? */
static int json_is_other_value(const char *s, size_t n)
{
	char *copy = token_alloc(n + 1);
	cJSON *v;

	memcpy(copy, s, n);
	copy[n] = '\0';
	v = memchr(copy, '\0', n) ? NULL : cJSON_ParseWithOpts(copy, NULL, 1);
	ot_wipe(copy, n);
	free(copy);
	if (!v)
		return 0;
	token_json_wipe_tree(v);
	return 1;
}

/* ---- members -> answer -------------------------------------------------------------- */

static const cJSON *member(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	return it && !cJSON_IsNull(it) ? it : NULL;
}

static const char *member_string(const cJSON *o, const char *name)
{
	const cJSON *it = member(o, name);

	return cJSON_IsString(it) && it->valuestring ? it->valuestring : NULL;
}

/* An OAuth error code (RFC 6749 §5.2 codes and vendors'): no spaces, short. */
static int error_code_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 63)
		return 0;
	for (; *s; s++)
		if (!token_is_tokenchar((unsigned char)*s) && *s != ':')
			return 0;
	return 1;
}

/* A vendor's upper-case code ("BAD_REFRESH_TOKEN"), not a success word or an opaque value. */
static int vendor_code_ok(const char *s)
{
	static const char *const success[] = {"OK",      "SUCCESS",  "SUCCEEDED", "ACTIVE", "DONE",
	                                      "CREATED", "ACCEPTED", "PENDING",   "VALID"};
	size_t n = strlen(s);
	int underscore = 0, digit = 0;

	if (n < 2 || n > 63 || !(s[0] >= 'A' && s[0] <= 'Z'))
		return 0;
	for (const char *p = s; *p; p++) {
		underscore |= *p == '_';
		digit |= *p >= '0' && *p <= '9';
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	}
	for (size_t i = 0; i < sizeof(success) / sizeof(success[0]); i++)
		if (strcmp(s, success[i]) == 0)
			return 0;
	return underscore || !digit;
}

static const char *error_description_of(const cJSON *o)
{
	static const char *const names[] = {
	        "error_description", "message", "description", "detail", "reason", "error_message"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *d = member_string(o, names[i]);
		if (d && *d)
			return d;
	}
	return NULL;
}

static void answer_error(ot_token_answer *a, const char *code, const char *desc)
{
	ot_token_answer_free(a);
	a->kind = OT_ANSWER_ERROR;
	a->error = token_sanitize(code);
	for (char *p = a->error; *p; p++)
		*p = (char)token_lower((unsigned char)*p);
	if (desc && *desc)
		a->error_description = token_sanitize(desc);
}

/* The standard `error` member. */
static int extract_oauth_error(const cJSON *o, ot_token_answer *a)
{
	const char *code = member_string(o, "error");

	if (!code || !error_code_ok(code))
		return 0;
	answer_error(a, code, error_description_of(o));
	return 1;
}

/* Vendor error bodies without `error`: {"status":"BAD_REFRESH_TOKEN"}, {"code":...},
 * {"errors":[{"code":...}]}, {"error":{"code":...,"message":...}}. */
static int extract_vendor_error(const cJSON *o, ot_token_answer *a)
{
	const cJSON *nested = member(o, "error");
	const cJSON *errors = member(o, "errors");
	const char *code;

	if (!cJSON_IsObject(nested) && cJSON_IsArray(errors) && cJSON_IsObject(errors->child))
		nested = errors->child;
	if (cJSON_IsObject(nested)) {
		code = member_string(nested, "code");
		if (!code || !error_code_ok(code))
			code = member_string(nested, "status");
		if (code && error_code_ok(code)) {
			const char *d = error_description_of(nested);
			answer_error(a, code, d ? d : error_description_of(o));
			return 1;
		}
	}
	code = member_string(o, "status");
	if (!code || !vendor_code_ok(code))
		code = member_string(o, "code");
	if (!code || !vendor_code_ok(code))
		code = member_string(o, "error_code");
	if (!code || !vendor_code_ok(code))
		return 0;
	answer_error(a, code, error_description_of(o));
	return 1;
}

/* 0 with *v set, 1 absent (or null), -1 not a number. Numeric strings count ("3599"). */
static int extract_seconds(const cJSON *o, const char *name, int64_t *v)
{
	const cJSON *it = member(o, name);
	cJSON *num = NULL;
	double d;

	if (!it)
		return 1;
	if (cJSON_IsString(it) && it->valuestring)
		num = cJSON_ParseWithOpts(it->valuestring, NULL, 1); /* cJSON knows the locale */
	if (cJSON_IsNumber(it))
		d = it->valuedouble;
	else if (cJSON_IsNumber(num))
		d = num->valuedouble;
	else
		d = NAN;
	cJSON_Delete(num);
	if (isnan(d))
		return -1;
	if (!(d > 0))
		*v = 0;
	else if (d >= (double)TOKEN_MAX_SECONDS)
		*v = TOKEN_MAX_SECONDS;
	else
		*v = (int64_t)floor(d);
	return 0;
}

/* Tokens are VSCHAR (RFC 6749 Appendix A): a byte above 0x7e (invalid UTF-8, non-ASCII)
 * would be stored and sent back in a header or form as is. */
static int token_has_non_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s > 0x7e)
			return 1;
	return 0;
}

/* A token-like string member: NULL when absent, null or ""; -1 if it is not a clean string,
 * -2 if it holds bytes that are not ASCII. */
static int extract_token_string(const cJSON *o, const char *name, char **out)
{
	const cJSON *it = member(o, name);
	size_t n;

	*out = NULL;
	if (!it)
		return 0;
	if (!cJSON_IsString(it) || !it->valuestring)
		return -1;
	n = strlen(it->valuestring);
	if (!token_printable(it->valuestring, n)) { /* the common case checks each byte once */
		if (token_has_control(it->valuestring))
			return -1;
		if (token_has_non_ascii(it->valuestring))
			return -2;
	}
	if (n) {
		*out = token_alloc(n + 1);
		memcpy(*out, it->valuestring, n + 1);
	}
	return 0;
}

/* scope: a string ("" is valid); an array of strings is joined with spaces; else ignored. */
static char *extract_scope(const cJSON *o)
{
	const cJSON *it = member(o, "scope"), *c;
	size_t n = 1;
	char *s;

	if (cJSON_IsString(it) && it->valuestring)
		return ot_strdup(it->valuestring);
	if (!cJSON_IsArray(it))
		return NULL;
	cJSON_ArrayForEach(c, it)
	{
		if (cJSON_IsString(c))
			n += strlen(c->valuestring) + 1;
	}
	s = token_alloc(n);
	s[0] = '\0';
	cJSON_ArrayForEach(c, it)
	{
		if (!cJSON_IsString(c))
			continue;
		if (s[0])
			strcat(s, " ");
		strcat(s, c->valuestring);
	}
	return s;
}

/* token_type: required by RFC 6749 but often missing; Bearer is the only type in use, and its
 * canonical spelling avoids resource servers that compare the scheme case-sensitively. */
static int extract_token_type(const cJSON *o, ot_token_answer *a)
{
	const cJSON *it = member(o, "token_type");

	if (it && (!cJSON_IsString(it) || token_has_control(it->valuestring)))
		return -1;
	if (!it || !*it->valuestring || strcasecmp(it->valuestring, "bearer") == 0)
		a->token_type = ot_strdup("Bearer");
	else
		a->token_type = ot_strdup(it->valuestring);
	return 0;
}

static int extract_refresh_expiry(const cJSON *o, ot_token_answer *a)
{
	static const char *const names[] = {"refresh_expires_in", "refresh_token_expires_in",
	                                    "x_refresh_token_expires_in"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int rc = extract_seconds(o, names[i], &a->refresh_expires_in);
		if (rc < 0) {
			answer_malformed(a, "%s is not a number", names[i]);
			return -1;
		}
		if (rc == 0)
			return 0;
	}
	return 0;
}

static void extract_token(const cJSON *o, ot_token_answer *a)
{
	int rc;

	a->kind = OT_ANSWER_TOKEN;
	rc = extract_token_string(o, "access_token", &a->access_token);
	if (rc == -2) {
		answer_malformed(a, "access_token is not ASCII (invalid UTF-8 or 8-bit bytes)");
		return;
	}
	if (rc < 0 || !a->access_token) {
		answer_malformed(a, "access_token contains control characters");
		return;
	}
	if (extract_token_type(o, a) < 0) {
		answer_malformed(a, "token_type is not a string");
		return;
	}
	rc = extract_seconds(o, "expires_in", &a->expires_in);
	if (rc < 0) {
		answer_malformed(a, "expires_in is not a number");
		return;
	}
	a->has_expires_in = rc == 0;
	if (extract_refresh_expiry(o, a) < 0)
		return;
	if (extract_token_string(o, "refresh_token", &a->refresh_token) < 0) {
		answer_malformed(a, "refresh_token is not a clean string");
		return;
	}
	a->scope = extract_scope(o);
	if (extract_token_string(o, "id_token", &a->id_token) < 0)
		a->id_token = NULL; /* informational only */
}

/* The member rules: an OAuth `error` wins (GitHub sends 200 with an error), then a non-empty
 * access_token, then a vendor error body. */
static void answer_from_object(const cJSON *o, ot_token_answer *a)
{
	const cJSON *at = member(o, "access_token");
	const char *err;

	if (extract_oauth_error(o, a))
		return;
	if (at && !cJSON_IsString(at)) {
		answer_malformed(a, "access_token is not a string");
		return;
	}
	if (at && at->valuestring && *at->valuestring) {
		extract_token(o, a);
		return;
	}
	if (extract_vendor_error(o, a))
		return;
	err = member_string(o, "error");
	if (err) {
		char *clean = token_sanitize(err);
		answer_malformed(a, "no access_token; unrecognised error \"%s\"", clean);
		free(clean);
		return;
	}
	answer_malformed(a, "no access_token");
}

void ot_token_parse(const char *body, size_t len, ot_token_answer *out)
{
	const char *why = NULL;
	cJSON *o = NULL;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (!body)
		len = 0;
	if (len > OT_ANSWER_MAX) {
		answer_malformed(out, "answer larger than 1 MiB");
		return;
	}
	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && token_is_space((unsigned char)body[i]))
		i++;
	body += i;
	len -= i;
	if (!len)
		why = "empty body";
	else if (memchr(body, '\0', len))
		why = "NUL byte in the answer";
	else if (body[0] == '<')
		why = "HTML page, not a token answer";
	else if (body[0] == '{' || body[0] == '[' || body[0] == '"')
		o = json_parse_object(body, len, &why);
	else if (!(o = form_parse_object(body, len)))
		why = json_is_other_value(body, len) ? "JSON but not an object"
		                                     : "not JSON or form-encoded";
	if (why) {
		answer_malformed(out, "%s", why);
		return;
	}
	answer_from_object(o, out);
	token_json_wipe_tree(o);
}

/* ---- classification ----------------------------------------------------------------- */

static void verdict_reason(ot_verdict *v, ot_outcome o, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void verdict_reason(ot_verdict *v, ot_outcome o, const char *fmt, ...)
{
	va_list ap;

	v->outcome = o;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

/* The success of every refresh: no printf. */
static void verdict_ok(ot_verdict *v)
{
	v->outcome = OT_OUTCOME_OK;
	memcpy(v->reason, "ok", sizeof("ok"));
}

/* "invalid_grant: Token is not active", or just the code. */
static void error_text(const ot_token_answer *a, char *out, size_t n)
{
	if (a->error_description)
		snprintf(out, n, "%s: %s", a->error, a->error_description);
	else
		snprintf(out, n, "%s", a->error);
}

static int64_t rate_limit_reset(const char *value, int64_t now)
{
	int64_t v = 0;
	const char *p = value;

	while (token_is_space((unsigned char)*p))
		p++;
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++)
		if (v < INT64_C(100000000000000))
			v = v * 10 + (*p - '0');
	if (v >= INT64_C(100000000000)) /* epoch milliseconds (13 digits today), rounded up */
		v = (v + 999) / 1000;
	if (*p == '.') /* fractional epoch seconds */
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	while (token_is_space((unsigned char)*p))
		p++;
	if (*p)
		return 0;
	if (v < INT64_C(1000000000)) /* a delta, as some servers send */
		v = now + v;
	if (v <= now)
		return 0;
	return v > now + RETRY_CAP ? now + RETRY_CAP : v;
}

static int64_t classify_retry_at(const ot_http_result *r, int64_t now)
{
	int64_t t = r->retry_after ? ot_parse_retry_after(r->retry_after, now) : 0;

	if (!t && r->rate_limit_reset)
		t = rate_limit_reset(r->rate_limit_reset, now);
	return t;
}

static int error_is(const ot_token_answer *a, const char *code)
{
	return a->kind == OT_ANSWER_ERROR && strcmp(a->error, code) == 0;
}

/* The codes that reject the grant itself (RFC 6749 §5.2 and vendors' refresh-token codes);
 * any other code is a server or gateway problem, retried. */
static int error_code_final(const char *code)
{
	static const char *const codes[] = {
	        "invalid_grant",          "invalid_request",       "invalid_scope",
	        "unsupported_grant_type", "bad_refresh_token",     "invalid_token",
	        "expired_token",          "token_expired",         "token_revoked",
	        "revoked_token",          "invalid_refresh_token", "refresh_token_expired",
	        "refresh_token_revoked",  "invalid_argument",      "access_denied",
	        "consent_required",       "interaction_required",  "login_required",
	        "unauthorized"};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i]) == 0)
			return 1;
	return 0;
}

/* A rejection of the grant comes as 400, 401, 403, or 200 (GitHub). */
static int error_status_final(long st)
{
	return st == 400 || st == 401 || st == 403 || st == 200;
}

/* The endpoint is not a token endpoint at all. */
static int error_status_wrong_url(long st)
{
	return st == 404 || st == 405 || st == 406 || st == 415;
}

/* The answer was read: decides by status first where the status alone decides (429, 5xx,
 * 3xx, 401), then by the error member whatever the status, then by success. */
static void classify_answer(const ot_http_result *r, ot_verdict *v)
{
	const ot_token_answer *a = &v->answer;
	long st = r->status;
	char et[224] = "";

	if (a->kind == OT_ANSWER_ERROR) {
		error_text(a, et, sizeof(et));
		snprintf(v->error_code, sizeof(v->error_code), "%s", a->error);
	}
	if (st == 429 || (st >= 500 && st <= 599))
		verdict_reason(v, OT_OUTCOME_TRANSIENT, "HTTP %ld%s%s", st, et[0] ? ": " : "", et);
	else if (st >= 300 && st <= 399)
		verdict_reason(v, OT_OUTCOME_TRANSIENT, "HTTP %ld redirect not followed", st);
	else if (st == 401)
		verdict_reason(v, OT_OUTCOME_CLIENT, "client rejected: %s",
		               et[0] ? et : "HTTP 401");
	else if (error_is(a, "invalid_client") || error_is(a, "unauthorized_client"))
		verdict_reason(v, OT_OUTCOME_CLIENT, "client rejected: %s", et);
	else if (error_is(a, "temporarily_unavailable") || error_is(a, "slow_down"))
		verdict_reason(v, OT_OUTCOME_TRANSIENT, "%s", et);
	else if (a->kind == OT_ANSWER_ERROR && error_status_final(st) &&
	         error_code_final(a->error))
		verdict_reason(v, OT_OUTCOME_PERMANENT, "%s", et);
	else if (a->kind == OT_ANSWER_ERROR)
		verdict_reason(v, OT_OUTCOME_TRANSIENT, "HTTP %ld: %s%s", st, et,
		               error_status_wrong_url(st) ? " \u2014 check token_url" : "");
	else if (st >= 200 && st <= 299 && a->kind == OT_ANSWER_TOKEN)
		verdict_ok(v);
	else if (st >= 200 && st <= 299)
		verdict_reason(v, OT_OUTCOME_TRANSIENT, "malformed answer: %s",
		               a->malformed_reason ? a->malformed_reason : "no access_token");
	else if (st == 0)
		verdict_reason(v, OT_OUTCOME_TRANSIENT, "no HTTP status");
	else
		verdict_reason(v, OT_OUTCOME_TRANSIENT, "HTTP %ld", st);
}

void ot_token_classify(const ot_http_result *r, int64_t now, ot_verdict *out)
{
	memset(out, 0, sizeof(*out));
	if (r->transport_error) {
		char *msg = token_sanitize(r->transport_msg ? r->transport_msg : "");
		verdict_reason(out, OT_OUTCOME_TRANSIENT, "%s",
		               msg[0] ? msg : "request failed before an answer");
		free(msg);
	} else if (r->body_truncated) {
		verdict_reason(out, OT_OUTCOME_TRANSIENT, "answer larger than 1 MiB");
	} else {
		ot_token_parse(r->body, r->body_len, &out->answer);
		classify_answer(r, out);
	}
	if (out->outcome == OT_OUTCOME_TRANSIENT)
		out->retry_at = classify_retry_at(r, now);
	if (r->redact && out->outcome != OT_OUTCOME_OK) {
		r->redact(r->redact_ctx, out->reason, sizeof(out->reason));
		r->redact(r->redact_ctx, out->error_code, sizeof(out->error_code));
	}
}

/* ---- Retry-After -------------------------------------------------------------------- */

static int month_index(const char *m)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	if (strlen(m) != 3)
		return -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(months + 3 * i, m, 3) == 0)
			return i;
	return -1;
}

/* IMF-fixdate, RFC 850 and asctime forms (RFC 9110 §5.6.7); -1 if none fits. */
static int64_t http_date(const char *v)
{
	struct tm tm;
	char mon[4] = "";
	int d = 0, y = 0, h = 0, mi = 0, s = 0, n = 0;

	memset(&tm, 0, sizeof(tm));
	if (!((sscanf(v, "%*[A-Za-z], %2d %3s %4d %2d:%2d:%2d GMT%n", &d, mon, &y, &h, &mi, &s,
	              &n) == 6 &&
	       n) ||
	      (sscanf(v, "%*[A-Za-z], %2d-%3[A-Za-z]-%4d %2d:%2d:%2d GMT%n", &d, mon, &y, &h, &mi,
	              &s, &n) == 6 &&
	       n) ||
	      (sscanf(v, "%*[A-Za-z] %3s %2d %2d:%2d:%2d %4d%n", mon, &d, &h, &mi, &s, &y, &n) ==
	               6 &&
	       n)))
		return -1;
	while (token_is_space((unsigned char)v[n]))
		n++;
	if (v[n])
		return -1;
	if (y < 100) /* RFC 850 two-digit year */
		y += y < 70 ? 2000 : 1900;
	tm.tm_mon = month_index(mon);
	if (tm.tm_mon < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970)
		return -1;
	tm.tm_mday = d;
	tm.tm_year = y - 1900;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

int64_t ot_parse_retry_after(const char *value, int64_t now)
{
	const char *p = value;
	int64_t t = 0;

	if (!p)
		return 0;
	while (token_is_space((unsigned char)*p))
		p++;
	if (*p >= '0' && *p <= '9') {
		for (; *p >= '0' && *p <= '9'; p++)
			if (t <= RETRY_CAP)
				t = t * 10 + (*p - '0');
		while (token_is_space((unsigned char)*p))
			p++;
		if (*p)
			return 0;
		return now + (t > RETRY_CAP ? RETRY_CAP : t);
	}
	t = http_date(p);
	if (t <= now) /* garbage, or a moment already past: no wait from the server */
		return 0;
	return t > now + RETRY_CAP ? now + RETRY_CAP : t;
}

/* ---- applying a success ------------------------------------------------------------- */

static int apply_refresh_token(ot_credential *c, const ot_token_answer *a, int64_t sent_at)
{
	char fp[OT_FP_LEN];
	int rotated;

	if (!a->refresh_token || !*a->refresh_token)
		return 0; /* RFC 6749 §6: keep the old one and its expiry */
	ot_fingerprint(a->refresh_token, fp);
	if (c->refresh_token)
		rotated = strcmp(c->refresh_token, a->refresh_token) != 0;
	else /* loaded without secrets: compare fingerprints */
		rotated = !c->has_refresh_token || strcmp(fp, c->refresh_fp) != 0;
	ot_credential_set_str(&c->refresh_token, a->refresh_token);
	memcpy(c->refresh_fp, fp, sizeof(fp));
	c->has_refresh_token = 1;
	if (rotated) {
		c->refresh_issued_at = sent_at;
		c->refresh_expires_at =
		        a->refresh_expires_in > 0 ? sent_at + a->refresh_expires_in : 0;
	} else if (a->refresh_expires_in > 0) {
		c->refresh_expires_at = sent_at + a->refresh_expires_in;
	}
	return rotated;
}

/* expires_in <= 0 gives an access token expired at sent_at: the state says "expired", and
 * min_interval (DESIGN §3.7) keeps the keeper from looping on it. */
static int64_t apply_access_expiry(const ot_token_answer *a, int64_t sent_at, const ot_provider *p)
{
	if (a->has_expires_in)
		return sent_at + a->expires_in;
	if (p && p->default_expires_in > 0)
		return sent_at + p->default_expires_in;
	return 0;
}

int ot_token_apply(ot_credential *cred, const ot_token_answer *a, int64_t sent_at,
                   const ot_provider *p)
{
	ot_credential_set_str(&cred->access_token, a->access_token);
	cred->has_access_token = a->access_token && *a->access_token;
	ot_fingerprint(a->access_token, cred->access_fp);
	ot_credential_set_str(&cred->token_type, a->token_type ? a->token_type : "Bearer");
	if (a->scope)
		ot_credential_set_str(&cred->scope, a->scope);
	cred->access_expires_at = apply_access_expiry(a, sent_at, p);
	cred->last_success_at = sent_at;
	cred->last_attempt_at = sent_at;
	cred->last_outcome = OT_OUTCOME_OK;
	cred->failures = 0;
	cred->next_attempt_at = 0;
	free(cred->last_error);
	cred->last_error = NULL;
	free(cred->client_fp);
	cred->client_fp = NULL;
	return apply_refresh_token(cred, a, sent_at);
}

/* ---- backoff ------------------------------------------------------------------------ */

int64_t ot_backoff_delay(int failures, int64_t base, int64_t max, double rnd)
{
	int64_t d;
	double j;

	if (base < 1)
		base = 1;
	if (max < base)
		max = base;
	d = base;
	for (int i = 1; i < failures && d < max; i++)
		d = d > max / 2 ? max : d * 2;
	if (d > max)
		d = max;
	if (!(rnd >= 0.0))
		rnd = 0.0;
	if (rnd > 1.0)
		rnd = 1.0;
	j = (double)d * (0.5 + 0.5 * rnd);
	if (j >= (double)d) /* also keeps the conversion in range near INT64_MAX */
		return d;
	return j < 1.0 ? 1 : (int64_t)j;
}
