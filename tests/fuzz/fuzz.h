/* fuzz.h - the fuzz entry points, shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c)
 * and the replay of saved inputs (tests/unit/test_fuzz_regress.c). Each function takes any
 * bytes, runs them through the real parser and frees everything; it returns 0. */
#ifndef OAUTHTOP_TESTS_FUZZ_H
#define OAUTHTOP_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* ot_token_parse, ot_token_classify (status chosen by the first byte) and
 * ot_parse_retry_after over the input. */
int fuzz_token_one(const uint8_t *data, size_t size);

/* ot_config_parse over the input, then every accessor over the result. */
int fuzz_config_one(const uint8_t *data, size_t size);

/* theme_parse over the input (made NUL-terminated). */
int fuzz_theme_one(const uint8_t *data, size_t size);

/* libFuzzer's entry point, defined by each harness unless OT_FUZZ_REPLAY is set. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
