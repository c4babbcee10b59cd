/* b64.h - base64 (RFC 4648 §4, padded) and base64url (§5, unpadded, as PKCE wants). Private
 * to src/core. */
#ifndef OAUTHTOP_CORE_B64_H
#define OAUTHTOP_CORE_B64_H

#include <stddef.h>

/* Writes the encoding of n bytes and a NUL to out, which holds at least 4 * ((n + 2) / 3) + 1
 * bytes. url: the URL-safe alphabet without padding; else the standard one with '='. */
void ot_b64_encode(const unsigned char *in, size_t n, int url, char *out);

#endif
