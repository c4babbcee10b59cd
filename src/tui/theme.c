/* theme.c - theme roles, the compiled-in themes, theme files and their lookup. No curses. */
#include "tui/theme.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "oauthtop/secret.h"

#ifndef OT_DATADIR
#define OT_DATADIR "/usr/local/share/oauthtop"
#endif

#define THEME_FILE_MAX (64 * 1024)

static const char *const role_names[] = {
#define TUI_ROLE_NAME(id, name) name,
        TUI_ROLES(TUI_ROLE_NAME)
#undef TUI_ROLE_NAME
};

/* The compiled-in default: the same text as themes/default.theme, so the console looks the
 * same when no theme file is installed. */
static const char default_text[] = "color title default default bold\n"
                                   "color header default default\n"
                                   "color column default default bold\n"
                                   "color row.ok green default\n"
                                   "color row.due yellow default bold\n"
                                   "color row.expired magenta default bold\n"
                                   "color row.failing red default\n"
                                   "color row.reauth red default bold\n"
                                   "color row.disabled default default dim\n"
                                   "color selected default default reverse\n"
                                   "color countdown.warn yellow default bold\n"
                                   "color dim default default dim\n"
                                   "color spinner cyan default bold\n"
                                   "color separator default default dim\n"
                                   "color log default default\n"
                                   "color keys cyan default\n"
                                   "color filter yellow default bold\n"
                                   "color status.info green default\n"
                                   "color status.warn yellow default bold\n"
                                   "color status.error red default bold\n"
                                   "color label cyan default\n";

/* Monochrome: every state stays readable with attributes alone. */
static const char mono_text[] = "color title default default bold\n"
                                "color header default default\n"
                                "color column default default bold underline\n"
                                "color row.ok default default\n"
                                "color row.due default default bold\n"
                                "color row.expired default default underline\n"
                                "color row.failing default default bold underline\n"
                                "color row.reauth default default bold reverse\n"
                                "color row.disabled default default dim\n"
                                "color selected default default reverse\n"
                                "color countdown.warn default default bold\n"
                                "color dim default default dim\n"
                                "color spinner default default bold\n"
                                "color separator default default\n"
                                "color log default default\n"
                                "color keys default default\n"
                                "color filter default default bold\n"
                                "color status.info default default\n"
                                "color status.warn default default bold\n"
                                "color status.error default default bold reverse\n"
                                "color label default default bold\n";

const char *theme_role_name(tui_role r)
{
	return r < TUI_ROLE_COUNT ? role_names[r] : "?";
}

tui_role theme_role_for_state(ot_state s)
{
	switch (s) {
	case OT_STATE_REAUTH:
		return TUI_ROLE_ROW_REAUTH;
	case OT_STATE_FAILING:
		return TUI_ROLE_ROW_FAILING;
	case OT_STATE_EXPIRED:
		return TUI_ROLE_ROW_EXPIRED;
	case OT_STATE_DUE:
		return TUI_ROLE_ROW_DUE;
	case OT_STATE_DISABLED:
		return TUI_ROLE_ROW_DISABLED;
	default:
		return TUI_ROLE_ROW_OK;
	}
}

static int role_from_name(const char *name)
{
	for (int i = 0; i < TUI_ROLE_COUNT; i++)
		if (strcmp(role_names[i], name) == 0)
			return i;
	return -1;
}

static const char *const color_names[] = {"black", "red",     "green", "yellow",
                                          "blue",  "magenta", "cyan",  "white"};

/* Returns 0 and *out, or -1 for an unknown colour. */
static int color_parse(const char *s, short *out)
{
	char *end;
	long v;

	if (strcasecmp(s, "default") == 0 || strcmp(s, "-1") == 0) {
		*out = THEME_DEFAULT_COLOR;
		return 0;
	}
	for (int i = 0; i < 8; i++) {
		if (strcasecmp(s, color_names[i]) == 0) {
			*out = (short)i;
			return 0;
		}
		if (strncasecmp(s, "bright-", 7) == 0 && strcasecmp(s + 7, color_names[i]) == 0) {
			*out = (short)(i + 8);
			return 0;
		}
	}
	if (strncasecmp(s, "color", 5) == 0)
		s += 5;
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 255)
		return -1;
	*out = (short)v;
	return 0;
}

static int attr_parse(const char *s, unsigned *attrs)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"normal", 0},
	             {"bold", THEME_BOLD},
	             {"dim", THEME_DIM},
	             {"underline", THEME_UNDERLINE},
	             {"reverse", THEME_REVERSE},
	             {"italic", THEME_ITALIC},
	             {"blink", THEME_BLINK}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*attrs |= names[i].bit;
			return 0;
		}
	}
	return -1;
}

/* Splits line into at most max words (in place); returns the count, max + 1 if more. */
static int split_words(char *line, char **w, int max)
{
	int n = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (n == max)
			return max + 1;
		w[n++] = t;
	}
	return n;
}

/* Parses one line; returns NULL or a static description of what is wrong. */
static const char *theme_parse_line(char *line, tui_theme *t, char *why, size_t whylen)
{
	char *w[10];
	int n, role;
	tui_style st = {THEME_DEFAULT_COLOR, THEME_DEFAULT_COLOR, 0};
	char *hash = strchr(line, '#');

	if (hash)
		*hash = '\0';
	n = split_words(line, w, 9);
	if (n == 0)
		return NULL;
	if (strcmp(w[0], "color") != 0) {
		snprintf(why, whylen, "unknown directive \"%.40s\" (expected color)", w[0]);
		return why;
	}
	if (n < 4 || n > 9) {
		snprintf(why, whylen, "expected: color ROLE FOREGROUND BACKGROUND [ATTRIBUTE...]");
		return why;
	}
	role = role_from_name(w[1]);
	if (role < 0) {
		snprintf(why, whylen, "unknown role \"%.40s\"", w[1]);
		return why;
	}
	for (int i = 2; i < 4; i++) {
		if (color_parse(w[i], i == 2 ? &st.fg : &st.bg) < 0) {
			snprintf(why, whylen, "unknown colour \"%.40s\"", w[i]);
			return why;
		}
	}
	for (int i = 4; i < n; i++) {
		if (attr_parse(w[i], &st.attrs) < 0) {
			snprintf(why, whylen, "unknown attribute \"%.40s\"", w[i]);
			return why;
		}
	}
	t->style[role] = st;
	return NULL;
}

/* Applies text over *t; returns -1 with err "PATH:LINE: what". */
static int theme_apply_text(const char *text, const char *path, tui_theme *t, ot_err *err)
{
	char *copy = ot_strdup(text);
	char *line, *p = copy;
	int lineno = 0, rc = 0;
	char why[160];

	while (p) {
		const char *bad;
		line = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
		lineno++;
		bad = theme_parse_line(line, t, why, sizeof(why));
		if (bad) {
			ot_err_set(err, "%s:%d: %s", path, lineno, bad);
			rc = -1;
			break;
		}
	}
	free(copy);
	return rc;
}

static void theme_set_mono_flag(tui_theme *t)
{
	t->monochrome = true;
	for (int i = 0; i < TUI_ROLE_COUNT; i++)
		if (t->style[i].fg != THEME_DEFAULT_COLOR || t->style[i].bg != THEME_DEFAULT_COLOR)
			t->monochrome = false;
}

void theme_builtin(const char *name, tui_theme *out)
{
	bool mono = name && strcmp(name, "mono") == 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < TUI_ROLE_COUNT; i++)
		out->style[i].fg = out->style[i].bg = THEME_DEFAULT_COLOR;
	/* Built-in texts are checked by the console tests; they cannot fail. */
	theme_apply_text(default_text, "(built-in)", out, NULL);
	if (mono)
		theme_apply_text(mono_text, "(built-in)", out, NULL);
	snprintf(out->name, sizeof(out->name), "%s", mono ? "mono" : "default");
	theme_set_mono_flag(out);
}

int theme_parse(const char *text, const char *path, const char *name, tui_theme *out, ot_err *err)
{
	theme_builtin("default", out);
	if (theme_apply_text(text, path, out, err) < 0) {
		theme_builtin("default", out);
		return -1;
	}
	snprintf(out->name, sizeof(out->name), "%s", name);
	theme_set_mono_flag(out);
	return 0;
}

/* Directory of the running executable + "/" + rel, into out; -1 if unknown. */
static int exe_relative(const char *rel, char *out, size_t outlen)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	n = snprintf(out, outlen, "%s/%s", exe, rel);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

#define THEME_DIRS 7

/* Fills dirs with the search path, most specific first; returns how many. */
static int theme_dirs(char dirs[THEME_DIRS][PATH_MAX])
{
	const char *env = getenv("OAUTHTOP_THEME_DIR");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n = 0;

	if (env && *env)
		snprintf(dirs[n++], PATH_MAX, "%s", env);
	if (xdg && *xdg)
		snprintf(dirs[n++], PATH_MAX, "%s/oauthtop/themes", xdg);
	else if (home && *home)
		snprintf(dirs[n++], PATH_MAX, "%s/.config/oauthtop/themes", home);
	if (exe_relative("themes", dirs[n], PATH_MAX) == 0) /* ./oauthtop in the source tree */
		n++;
	if (exe_relative("../themes", dirs[n], PATH_MAX) == 0) /* build-dir/oauthtop */
		n++;
	if (exe_relative("../share/oauthtop/themes", dirs[n], PATH_MAX) == 0) /* bin/ */
		n++;
	if (exe_relative("../../share/oauthtop/themes", dirs[n], PATH_MAX) == 0) /* libexec/x/ */
		n++;
	snprintf(dirs[n++], PATH_MAX, "%s/themes", OT_DATADIR);
	return n;
}

/* Reads a whole small file; NULL with err on failure. */
static char *read_small_file(const char *path, ot_err *err)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f) {
		ot_err_set(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(THEME_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		ot_err_set(err, "%s: out of memory", path);
		return NULL;
	}
	n = fread(buf, 1, THEME_FILE_MAX + 1, f);
	fclose(f);
	if (n > THEME_FILE_MAX) {
		free(buf);
		ot_err_set(err, "%s: larger than 64 KiB", path);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int theme_load_path(const char *path, const char *name, tui_theme *out, ot_err *err)
{
	char *text = read_small_file(path, err);
	int rc;

	if (!text) {
		theme_builtin("default", out);
		return -1;
	}
	rc = theme_parse(text, path, name, out, err);
	free(text);
	return rc;
}

static bool theme_name_ok(const char *name)
{
	if (!*name || strlen(name) > 48)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

int theme_load(const char *name, tui_theme *out, ot_err *err)
{
	char dirs[THEME_DIRS][PATH_MAX];
	char path[PATH_MAX + 80];
	int n;

	if (!name || !*name)
		name = "default";
	if (strchr(name, '/')) {
		const char *base = strrchr(name, '/') + 1;
		return theme_load_path(name, base, out, err);
	}
	if (!theme_name_ok(name)) {
		theme_builtin("default", out);
		return ot_err_set(err, "bad theme name \"%.60s\"", name);
	}
	n = theme_dirs(dirs);
	for (int i = 0; i < n; i++) {
		int w = snprintf(path, sizeof(path), "%s/%s.theme", dirs[i], name);
		if (w > 0 && (size_t)w < sizeof(path) && access(path, F_OK) == 0)
			return theme_load_path(path, name, out, err);
	}
	if (strcmp(name, "default") == 0 || strcmp(name, "mono") == 0) {
		theme_builtin(name, out);
		return 0;
	}
	theme_builtin("default", out);
	return ot_err_set(err, "no theme named \"%s\" (looked for %s.theme in %s and %d more)",
	                  name, name, dirs[0], n - 1);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_add(char ***names, size_t *n, size_t *cap, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*names)[i], name) == 0)
			return 0;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		char **p = realloc(*names, c * sizeof(char *));
		if (!p)
			return -1;
		*names = p;
		*cap = c;
	}
	(*names)[(*n)++] = ot_strdup(name);
	return 0;
}

static void list_dir(const char *dir, char ***names, size_t *n, size_t *cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char base[64];
		if (len <= 6 || len - 6 >= sizeof(base) || strcmp(e->d_name + len - 6, ".theme"))
			continue;
		memcpy(base, e->d_name, len - 6);
		base[len - 6] = '\0';
		if (theme_name_ok(base))
			list_add(names, n, cap, base);
	}
	closedir(d);
}

int theme_list(char ***names, size_t *n)
{
	char dirs[THEME_DIRS][PATH_MAX];
	int nd = theme_dirs(dirs);
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (list_add(names, n, &cap, "default") < 0 || list_add(names, n, &cap, "mono") < 0)
		return -1;
	for (int i = 0; i < nd; i++)
		list_dir(dirs[i], names, n, &cap);
	qsort(*names, *n, sizeof(char *), name_cmp);
	return 0;
}

void theme_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
