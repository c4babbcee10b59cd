/* secret.c - fingerprints, masks and wiping of token and secret values. */
#include "oauthtop/secret.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* SHA-256 fetched from the provider once: EVP_sha256() in EVP_Digest fetches it again on
 * every call. Never freed (one object for the life of the process). */
static const EVP_MD *fp_md;
static pthread_once_t fp_md_once = PTHREAD_ONCE_INIT;

static void fp_md_fetch(void)
{
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);

	fp_md = md ? md : EVP_sha256();
}

void ot_fingerprint(const char *value, char out[OT_FP_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	out[0] = '\0';
	if (!value || !*value)
		return;
	pthread_once(&fp_md_once, fp_md_fetch);
	if (!EVP_Digest(value, strlen(value), md, &mdlen, fp_md, NULL) || mdlen < 4)
		return;
	for (i = 0; i < 4; i++) { /* by hand: snprintf cost half as much as the digest */
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[8] = '\0';
}

void ot_mask(const char *value, int show_head, char *out, size_t outlen)
{
	size_t n;

	if (!outlen)
		return;
	if (!value) {
		snprintf(out, outlen, "-");
		return;
	}
	n = strlen(value);
	if (n <= 12) {
		snprintf(out, outlen, "****");
		return;
	}
	if (show_head)
		snprintf(out, outlen, "%.4s\u2026%s", value, value + n - 3);
	else
		snprintf(out, outlen, "****\u2026%s", value + n - 4);
}

void ot_wipe(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);
}

static int redact_at(const char *p, const char *secret, size_t len, int nocase)
{
	return nocase ? strncasecmp(p, secret, len) == 0 : strncmp(p, secret, len) == 0;
}

/* A text cut short ("...") that ends inside the secret: the longest head of it (6 or more
 * characters) right before the "..." becomes "[redacted]...". */
static void redact_cut_tail(char *out, size_t n, const char *secret, size_t sl, int nocase)
{
	size_t ol = strlen(out);

	if (ol <= 3 || strcmp(out + ol - 3, "...") != 0)
		return;
	for (size_t k = sl < ol - 3 ? sl : ol - 3; k >= 6; k--)
		if (redact_at(out + ol - 3 - k, secret, k, nocase)) {
			snprintf(out + ol - 3 - k, n - (ol - 3 - k), "[redacted]...");
			return;
		}
}

void ot_redact(char *text, size_t n, const char *secret, int nocase)
{
	size_t sl = secret ? strlen(secret) : 0, tl, o = 0;
	const char *p;
	char *out;

	if (sl < 4 || n == 0)
		return;
	tl = strlen(text);
	/* Nothing to cut (the common case): the text stays as it is. */
	if (!(nocase ? strcasestr(text, secret) : strstr(text, secret)) &&
	    !(tl > 3 && strcmp(text + tl - 3, "...") == 0))
		return;
	out = malloc(n);
	if (!out) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	for (p = text; *p && o + 1 < n;) {
		if (redact_at(p, secret, sl, nocase)) {
			o += (size_t)snprintf(out + o, n - o, "[redacted]");
			if (o >= n)
				o = n - 1;
			p += sl;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	redact_cut_tail(out, n, secret, sl, nocase);
	memcpy(text, out, strlen(out) + 1);
	ot_wipe(out, n);
	free(out);
}

void ot_secret_free(char *s)
{
	if (!s)
		return;
	ot_wipe(s, strlen(s));
	free(s);
}

char *ot_strdup(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	return d;
}

void ot_secret_protect_process(void)
{
	struct rlimit rl = {0, 0};

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
