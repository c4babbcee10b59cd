/* secret.h - handling of token and secret values: fingerprints, masks, wiping. */
#ifndef OAUTHTOP_SECRET_H
#define OAUTHTOP_SECRET_H

#include <stddef.h>

/* Size of a fingerprint buffer: 8 hex digits of SHA-256 plus NUL. */
#define OT_FP_LEN 9

/* Writes the first 8 hex digits of SHA-256(value) to out; "" when value is NULL or empty. */
void ot_fingerprint(const char *value, char out[OT_FP_LEN]);

/* Writes a masked form of a token ("eyJh…9Qk"; "****…x7Pq" when show_head is 0) into out;
 * values of 12 characters or fewer are fully masked ("****"); NULL gives "-". */
void ot_mask(const char *value, int show_head, char *out, size_t outlen);

/* Overwrites len bytes at p in a way the compiler cannot remove. */
void ot_wipe(void *p, size_t len);

/* Replaces every occurrence of secret (4 characters or more; ASCII case ignored when nocase)
 * in text, a NUL-terminated string in a buffer of n bytes, by "[redacted]"; a text cut
 * short ("...") right inside the secret loses that tail too. For a server's words that may
 * echo what we sent. */
void ot_redact(char *text, size_t n, const char *secret, int nocase);

/* Wipes and frees a NUL-terminated secret string; NULL is fine. */
void ot_secret_free(char *s);

/* Duplicates s (NULL gives NULL); aborts the process on out-of-memory. */
char *ot_strdup(const char *s);

/* Disables core dumps (RLIMIT_CORE 0, PR_SET_DUMPABLE 0) for a process that holds secrets. */
void ot_secret_protect_process(void);

#endif
