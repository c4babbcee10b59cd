/* util.c - allocation, time, randomness and fingerprints for oauthtop-idp. */
#include "idp.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void idp_oom(void)
{
	fputs("oauthtop-idp: out of memory\n", stderr);
	abort();
}

void *idp_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		idp_oom();
	return p;
}

void *idp_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		idp_oom();
	return p;
}

void *idp_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		idp_oom();
	return q;
}

char *idp_xstrdup(const char *s)
{
	return idp_xstrndup(s, strlen(s));
}

char *idp_xstrndup(const char *s, size_t n)
{
	char *p = idp_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *idp_xprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		idp_oom();
	char *p = idp_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

double idp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void idp_fingerprint(const char *value, char out[IDP_FP_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	out[0] = '\0';
	if (!value || !*value)
		return;
	if (!EVP_Digest(value, strlen(value), md, &mdlen, EVP_sha256(), NULL) || mdlen < 4)
		return;
	for (int i = 0; i < 4; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[8] = '\0';
}

void idp_random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[64];
	size_t i = 0;
	while (i < n) {
		size_t want = (n - i + 1) / 2;
		if (want > sizeof buf)
			want = sizeof buf;
		if (RAND_bytes(buf, (int)want) != 1) {
			fputs("oauthtop-idp: no randomness\n", stderr);
			abort();
		}
		for (size_t j = 0; j < want && i < n; j++) {
			out[i++] = hex[buf[j] >> 4];
			if (i < n)
				out[i++] = hex[buf[j] & 15];
		}
	}
	out[n] = '\0';
}

void idp_buf_add(idp_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = idp_xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void idp_buf_adds(idp_buf *b, const char *s)
{
	idp_buf_add(b, s, strlen(s));
}

void idp_buf_free(idp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
