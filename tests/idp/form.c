/* form.c - application/x-www-form-urlencoded, percent coding, base64 and Basic auth. */
#include "idp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *idp_pct_decode(const char *s, size_t len, int plus_space)
{
	char *out = idp_xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (len - i < 3) {
				free(out);
				return NULL;
			}
			int h = hexval((unsigned char)s[i + 1]),
			    l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0)) {
				free(out);
				return NULL;
			}
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else if (c == '+' && plus_space) {
			out[o++] = ' ';
		} else if (c == '\0') {
			free(out);
			return NULL;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}

char *idp_form_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = idp_xmalloc(3 * n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*') {
			out[o++] = (char)c;
		} else if (c == ' ') {
			out[o++] = '+';
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

const char *idp_form_get(const idp_form *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->items[i].key, key) == 0)
			return f->items[i].value;
	return NULL;
}

static void form_push(idp_form *f, char *key, char *value)
{
	if (idp_form_get(f, key))
		f->duplicate = 1;
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 8;
		f->items = idp_xrealloc(f->items, f->cap * sizeof *f->items);
	}
	f->items[f->n].key = key;
	f->items[f->n].value = value;
	f->n++;
}

void idp_form_add(idp_form *f, const char *key, const char *value)
{
	form_push(f, idp_xstrdup(key), idp_xstrdup(value));
}

int idp_form_parse(idp_form *f, const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && s[end] != '&')
			end++;
		if (end > i) {
			size_t eq = i;
			while (eq < end && s[eq] != '=')
				eq++;
			char *k = idp_pct_decode(s + i, eq - i, 1);
			char *v = eq < end ? idp_pct_decode(s + eq + 1, end - eq - 1, 1)
			                   : idp_xstrdup("");
			if (!k || !v) {
				free(k);
				free(v);
				return -1;
			}
			form_push(f, k, v);
		}
		i = end + 1;
	}
	return 0;
}

void idp_form_free(idp_form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->items[i].key);
		free(f->items[i].value);
	}
	free(f->items);
	f->items = NULL;
	f->n = f->cap = 0;
	f->duplicate = 0;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes standard base64 (padding optional); NULL when malformed. */
static char *b64_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return NULL;
	char *out = idp_xmalloc(n * 3 / 4 + 1);
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

int idp_basic_parse(const char *header, char **id, char **secret)
{
	*id = *secret = NULL;
	if (!header)
		return 0;
	while (*header == ' ')
		header++;
	if (strncasecmp(header, "Basic", 5) != 0 || (header[5] != ' ' && header[5] != '\0'))
		return 0;
	const char *p = header + 5;
	while (*p == ' ')
		p++;
	size_t end = strlen(p);
	while (end > 0 && p[end - 1] == ' ')
		end--;
	char *enc = idp_xstrndup(p, end);
	size_t len = 0;
	char *raw = b64_decode(enc, &len);
	free(enc);
	if (!raw)
		return -1;
	char *colon = memchr(raw, ':', len);
	if (!colon || memchr(raw, '\0', len)) {
		free(raw);
		return -1;
	}
	*id = idp_pct_decode(raw, (size_t)(colon - raw), 1);
	*secret = idp_pct_decode(colon + 1, len - (size_t)(colon - raw) - 1, 1);
	free(raw);
	if (!*id || !*secret) {
		free(*id);
		free(*secret);
		*id = *secret = NULL;
		return -1;
	}
	return 1;
}
