/* script.c - script steps and the screen as text. */
#include "tui/script.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "oauthtop/secret.h"
#include "tui/keymap.h"
#include "tui/paint.h"

#define SCRIPT_MAX  (1024 * 1024)
#define WAIT_MAX_MS 10000

struct tui_script {
	char path[512];
	char *text;
	char *line;      /* current line (NUL-terminated), NULL before the first */
	char *next;      /* start of the following line */
	const char *pos; /* position of the next key within a key line */
	int lineno;
	long wait_max; /* limit of :wait-idle and :wait-for (:timeout) */
};

tui_script *script_open(const char *path, ot_err *err)
{
	FILE *f = fopen(path, "r");
	tui_script *s;
	size_t n;

	if (!f) {
		ot_err_set(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s)
		s->text = malloc(SCRIPT_MAX + 1);
	if (!s || !s->text) {
		fclose(f);
		script_free(s);
		ot_err_set(err, "%s: out of memory", path);
		return NULL;
	}
	n = fread(s->text, 1, SCRIPT_MAX, f);
	fclose(f);
	s->text[n] = '\0';
	s->next = s->text;
	s->wait_max = WAIT_MAX_MS;
	snprintf(s->path, sizeof(s->path), "%s", path);
	return s;
}

void script_free(tui_script *s)
{
	if (!s)
		return;
	free(s->text);
	free(s);
}

const char *script_path(const tui_script *s)
{
	return s->path;
}

/* Advances to the next line that is not blank or a comment; false at the end. */
static bool script_advance(tui_script *s)
{
	while (s->next && *s->next) {
		char *nl;
		s->line = s->next;
		nl = strchr(s->line, '\n');
		if (nl) {
			*nl = '\0';
			s->next = nl + 1;
		} else {
			s->next = NULL;
		}
		s->lineno++;
		size_t len = strlen(s->line);
		while (len && (s->line[len - 1] == '\r' || s->line[len - 1] == ' '))
			s->line[--len] = '\0';
		if (len && s->line[0] != '#') {
			s->pos = s->line;
			return true;
		}
	}
	s->line = NULL;
	return false;
}

static long arg_ms(const char *a, long dflt)
{
	char *end;
	long v;

	if (!a || !*a)
		return dflt;
	v = strtol(a, &end, 10);
	return *end || v < 0 ? -1 : v;
}

static int script_command(tui_script *s, script_step *out, ot_err *err)
{
	char *cmd = s->line + 1, *arg = strchr(cmd, ' ');

	if (arg)
		*arg++ = '\0';
	while (arg && *arg == ' ')
		arg++;
	s->pos = NULL; /* the whole line is consumed */
	out->line = s->lineno;
	if (strcmp(cmd, "wait") == 0 || strcmp(cmd, "wait-idle") == 0) {
		out->kind = cmd[4] ? SCRIPT_WAIT_IDLE : SCRIPT_WAIT;
		out->ms = arg_ms(arg, cmd[4] ? s->wait_max : -1);
		if (out->ms < 0)
			return ot_err_set(err, "%s:%d: :%s needs milliseconds", s->path, s->lineno,
			                  cmd);
	} else if (strcmp(cmd, "wait-for") == 0 || strcmp(cmd, "dump") == 0) {
		out->kind = cmd[0] == 'w' ? SCRIPT_WAIT_FOR : SCRIPT_DUMP;
		out->text = arg;
		out->ms = s->wait_max;
		if (!arg || !*arg)
			return ot_err_set(err, "%s:%d: :%s needs an argument", s->path, s->lineno,
			                  cmd);
	} else if (strcmp(cmd, "resize") == 0 || strcmp(cmd, "click") == 0) {
		out->kind = cmd[0] == 'r' ? SCRIPT_RESIZE : SCRIPT_CLICK;
		if (!arg || sscanf(arg, "%d %d", &out->a, &out->b) != 2 || out->a < 0 || out->b < 0)
			return ot_err_set(err, "%s:%d: :%s needs two numbers", s->path, s->lineno,
			                  cmd);
	} else if (strcmp(cmd, "timeout") == 0) {
		s->wait_max = arg_ms(arg, -1);
		if (s->wait_max < 0)
			return ot_err_set(err, "%s:%d: :timeout needs milliseconds", s->path,
			                  s->lineno);
		out->kind = SCRIPT_WAIT;
		out->ms = 0;
	} else if (strcmp(cmd, "quit") == 0) {
		out->kind = SCRIPT_QUIT;
	} else {
		return ot_err_set(err, "%s:%d: unknown command :%s", s->path, s->lineno, cmd);
	}
	return 0;
}

int script_next(tui_script *s, script_step *out, ot_err *err)
{
	memset(out, 0, sizeof(*out));
	if ((!s->pos || !*s->pos) && !script_advance(s)) {
		out->kind = SCRIPT_QUIT;
		out->line = s->lineno;
		return 0;
	}
	if (s->pos == s->line && s->line[0] == ':' && s->line[1] != '\0')
		return script_command(s, out, err);
	out->kind = SCRIPT_KEY;
	out->line = s->lineno;
	out->key = keymap_parse(&s->pos);
	if (out->key < 0)
		return ot_err_set(err, "%s:%d: unknown key name", s->path, s->lineno);
	return 0;
}

/* Appends the text of one screen row to buf at *len (buf holds at least COLS*4*2+2). */
static void row_text(int y, char *buf, size_t *len)
{
	size_t keep = *len;
	mbstate_t st;

	memset(&st, 0, sizeof(st));
	for (int x = 0; x < COLS; x++) {
		cchar_t cc;
		wchar_t wch[CCHARW_MAX + 1];
		attr_t a;
		short pair;
		if (mvwin_wch(stdscr, y, x, &cc) == ERR)
			break;
		if (getcchar(&cc, wch, &a, &pair, NULL) == ERR || !wch[0])
			wch[0] = L' ', wch[1] = L'\0';
		for (int k = 0; wch[k] && k < CCHARW_MAX; k++) {
			size_t n = wcrtomb(buf + *len, wch[k], &st);
			if (n == (size_t)-1) {
				buf[*len] = '?';
				n = 1;
			}
			*len += n;
		}
		if (wch[0] != L' ')
			keep = *len;
		if (wcwidth(wch[0]) == 2)
			x++; /* the second cell of a wide character */
	}
	*len = keep;
	buf[(*len)++] = '\n';
}

char *script_screen_text(void)
{
	size_t cap = (size_t)LINES * ((size_t)COLS * 4 * (CCHARW_MAX) + 2) + 1, len = 0;
	char *buf = malloc(cap);
	int cy, cx;

	if (!buf)
		return NULL;
	getyx(stdscr, cy, cx);
	for (int y = 0; y < LINES; y++)
		row_text(y, buf, &len);
	buf[len] = '\0';
	wmove(stdscr, cy, cx);
	return buf;
}

int script_dump(const char *path, ot_err *err)
{
	char *text = script_screen_text();
	FILE *f;
	int rc = 0;

	if (!text)
		return ot_err_set(err, "%s: out of memory", path);
	f = fopen(path, "w");
	if (!f) {
		free(text);
		return ot_err_set(err, "%s: %s", path, strerror(errno));
	}
	if (fputs(text, f) < 0)
		rc = ot_err_set(err, "%s: %s", path, strerror(errno));
	if (fclose(f) != 0 && rc == 0)
		rc = ot_err_set(err, "%s: %s", path, strerror(errno));
	free(text);
	return rc;
}
