/* test_b64.c - base64 / base64url against the RFC 4648 §10 vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/b64.h"

static void check(const char *in, int url, const char *want)
{
	char out[64];

	ot_b64_encode((const unsigned char *)in, strlen(in), url, out);
	assert_string_equal(out, want);
}

static void test_rfc4648_vectors(void **state)
{
	(void)state;
	check("", 0, "");
	check("f", 0, "Zg==");
	check("fo", 0, "Zm8=");
	check("foo", 0, "Zm9v");
	check("foob", 0, "Zm9vYg==");
	check("fooba", 0, "Zm9vYmE=");
	check("foobar", 0, "Zm9vYmFy");
}

static void test_url_alphabet_unpadded(void **state)
{
	const unsigned char in[] = {0xfb, 0xff, 0xbf};
	char out[16];

	(void)state;
	check("f", 1, "Zg");
	check("fo", 1, "Zm8");
	ot_b64_encode(in, sizeof(in), 1, out);
	assert_string_equal(out, "-_-_");
	ot_b64_encode(in, sizeof(in), 0, out);
	assert_string_equal(out, "+/+/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_url_alphabet_unpadded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
