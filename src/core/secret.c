/* secret.c - fingerprints, masks and wiping of token and secret values. */
#include "oauthtop/secret.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
