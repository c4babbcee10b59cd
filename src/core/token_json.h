/* token_json.h - the token answer's fast JSON reader (token.c), private to src/core; declared
 * here for the fuzz harness (tests/fuzz/fuzz_token.c), which checks it against cJSON's own
 * parser on every input it takes. */
#ifndef OAUTHTOP_CORE_TOKEN_JSON_H
#define OAUTHTOP_CORE_TOKEN_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Reads the usual answer - a flat object whose strings hold no escape, numbers of at most 15
 * digits, true, false, null - from s[0..n) (s[0] is '{', s[n] is '\0') into the very tree
 * cJSON's parser builds from it; *end just past its '}'. NULL for anything else (s as it
 * was): the caller hands the text to cJSON. s is written to while reading (a terminator lent
 * for each string) and restored. */
cJSON *ot_token_json_flat(char *s, size_t n, const char **end);

#endif
