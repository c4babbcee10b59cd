/* fuzz_theme.c - libFuzzer harness for the console's theme loader (src/tui/theme.h):
 * theme_parse over the input made NUL-terminated (theme files are text; a NUL ends the text
 * as it would for a file read into a string). Broken invariants abort: colours outside
 * -1..255, unknown attribute bits, a failure without a "PATH:LINE: what" message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "oauthtop/secret.h"
#include "tui/theme.h"

#define FUZZ_THEME_ATTRS                                                                           \
	(THEME_BOLD | THEME_DIM | THEME_UNDERLINE | THEME_REVERSE | THEME_ITALIC | THEME_BLINK)

static void fuzz_theme_check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_theme: invariant broken: %s\n", what);
		abort();
	}
}

int fuzz_theme_one(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	tui_theme t;
	ot_err err;
	int rc;

	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	memset(&err, 0, sizeof(err));
	rc = theme_parse(text, "fuzz.theme", "fuzz", &t, &err);
	if (rc < 0)
		fuzz_theme_check(strncmp(err.msg, "fuzz.theme:", 11) == 0,
		                 "error without PATH:LINE");
	else
		fuzz_theme_check(strcmp(t.name, "fuzz") == 0, "name not set");
	for (int i = 0; i < TUI_ROLE_COUNT; i++) {
		const tui_style *s = &t.style[i];

		fuzz_theme_check(s->fg >= THEME_DEFAULT_COLOR && s->fg <= 255, "fg out of range");
		fuzz_theme_check(s->bg >= THEME_DEFAULT_COLOR && s->bg <= 255, "bg out of range");
		fuzz_theme_check((s->attrs & ~(unsigned)FUZZ_THEME_ATTRS) == 0,
		                 "unknown attribute");
		fuzz_theme_check(theme_role_name((tui_role)i) != NULL, "role without a name");
	}
	free(text);
	return 0;
}

#ifndef OT_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_theme_one(data, size);
}
#endif
