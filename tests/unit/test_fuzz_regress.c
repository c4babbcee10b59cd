/* test_fuzz_regress.c - replays every saved fuzz input (tests/fuzz/regress/<harness>/, the
 * inputs that once crashed, leaked or broke an invariant, and the seed corpora
 * tests/fuzz/corpus/<harness>/) through the same entry points as the libFuzzer harnesses,
 * so the normal and the sanitizer builds (make unit, make BUILD=build-san SAN=1 unit) catch
 * a regression without clang's fuzzer runtime. The harness sources are compiled in with
 * OT_FUZZ_REPLAY (no LLVMFuzzerTestOneInput); the theme loader is not part of the library,
 * so its source is compiled in too. Inputs are found under $OT_FUZZ_DIR, else tests/fuzz
 * (make runs tests from the repository root). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#define OT_FUZZ_REPLAY 1
#include "../fuzz/fuzz_config.c"
#include "../fuzz/fuzz_theme.c"
#include "../fuzz/fuzz_token.c"
#include "tui/theme.c"

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

static const char *fuzz_dir(void)
{
	const char *d = getenv("OT_FUZZ_DIR");
	struct stat st;

	if (d && *d)
		return d;
	if (stat("tests/fuzz/corpus", &st) == 0)
		return "tests/fuzz";
	return "../fuzz"; /* run from tests/unit */
}

/* Reads a whole file into a fresh exact-size buffer (so ASan sees reads past its end). */
static uint8_t *fuzz_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc(n ? (size_t)n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Runs fn over every regular file of DIR/kind/harness; returns how many. */
static int fuzz_replay_dir(const char *kind, const char *harness, fuzz_fn fn)
{
	char dir[1024], path[2048];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s/%s", fuzz_dir(), kind, harness);
	d = opendir(dir);
	if (!d) {
		/* regress/<h>/ may be empty and absent from a checkout; the corpus may not. */
		if (strcmp(kind, "corpus") == 0)
			fail_msg("cannot open %s: %s", dir, strerror(errno));
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		uint8_t *buf;
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		buf = fuzz_read(path, &len);
		assert_int_equal(fn(buf, len), 0);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

static void replay(const char *harness, fuzz_fn fn, int min_seeds)
{
	int seeds = fuzz_replay_dir("corpus", harness, fn);
	int regress = fuzz_replay_dir("regress", harness, fn);

	print_message("%s: %d seeds, %d regression inputs replayed\n", harness, seeds, regress);
	assert_true(seeds >= min_seeds);
}

static void test_replay_token(void **state)
{
	(void)state;
	replay("token", fuzz_token_one, 30);
}

static void test_replay_config(void **state)
{
	(void)state;
	replay("config", fuzz_config_one, 10);
}

static void test_replay_theme(void **state)
{
	(void)state;
	replay("theme", fuzz_theme_one, 4);
}

/* The harnesses' own checks must be able to fail: a hostile answer still parses to a
 * bounded, one-line reason, and an empty input is fine for every entry point. */
static void test_entry_points_edge_inputs(void **state)
{
	static const uint8_t nul_answer[] = "\310{\"access_token\":\"A\0B\"}";
	ot_token_answer a;
	(void)state;

	assert_int_equal(fuzz_token_one(NULL, 0), 0);
	assert_int_equal(fuzz_config_one((const uint8_t *)"", 0), 0);
	assert_int_equal(fuzz_theme_one((const uint8_t *)"", 0), 0);
	assert_int_equal(fuzz_token_one(nul_answer, sizeof(nul_answer) - 1), 0);
	ot_token_parse((const char *)nul_answer + 1, sizeof(nul_answer) - 2, &a);
	assert_int_equal(a.kind, OT_ANSWER_MALFORMED);
	assert_null(a.access_token);
	ot_token_answer_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_replay_token),
	        cmocka_unit_test(test_replay_config),
	        cmocka_unit_test(test_replay_theme),
	        cmocka_unit_test(test_entry_points_edge_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
