/* secret.c - fingerprints, masks and wiping of token and secret values. */
#include "oauthtop/secret.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

void ot_fingerprint(const char *value, char out[OT_FP_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (!value || !*value)
		return;
	if (!EVP_Digest(value, strlen(value), md, &mdlen, EVP_sha256(), NULL) || mdlen < 4)
		return;
	snprintf(out, OT_FP_LEN, "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
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
