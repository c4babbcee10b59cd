/* keymap.c - key bindings and key names. */
#include "tui/keymap.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "tui/paint.h"

#define CTRL_KEY(c) ((c)&0x1f)

static const struct {
	const char *keys;
	const char *what;
} actions[] = {
#define TUI_ACTION_ROW(id, keys, what) {keys, what},
        TUI_ACTIONS(TUI_ACTION_ROW)
#undef TUI_ACTION_ROW
};

static const struct {
	int key;
	tui_action action;
} bindings[] = {
        {KEY_UP, TUI_ACTION_UP},
        {'k', TUI_ACTION_UP},
        {KEY_DOWN, TUI_ACTION_DOWN},
        {'j', TUI_ACTION_DOWN},
        {KEY_PPAGE, TUI_ACTION_PAGE_UP},
        {CTRL_KEY('b'), TUI_ACTION_PAGE_UP},
        {KEY_NPAGE, TUI_ACTION_PAGE_DOWN},
        {' ', TUI_ACTION_PAGE_DOWN},
        {CTRL_KEY('f'), TUI_ACTION_PAGE_DOWN},
        {KEY_HOME, TUI_ACTION_HOME},
        {'g', TUI_ACTION_HOME},
        {KEY_END, TUI_ACTION_END},
        {'G', TUI_ACTION_END},
        {'r', TUI_ACTION_REFRESH},
        {'R', TUI_ACTION_REFRESH_DUE},
        {'a', TUI_ACTION_AUTHORIZE},
        {'\n', TUI_ACTION_DETAILS},
        {'\r', TUI_ACTION_DETAILS},
        {KEY_ENTER, TUI_ACTION_DETAILS},
        {'/', TUI_ACTION_FILTER},
        {'s', TUI_ACTION_SORT},
        {'t', TUI_ACTION_THEME},
        {'?', TUI_ACTION_HELP},
        {KEY_F(1), TUI_ACTION_HELP},
        {27, TUI_ACTION_BACK},
        {KEY_BACKSPACE, TUI_ACTION_BACK},
        {CTRL_KEY('l'), TUI_ACTION_REDRAW},
        {'q', TUI_ACTION_QUIT},
};

tui_action keymap_action(int key)
{
	for (size_t i = 0; i < sizeof(bindings) / sizeof(bindings[0]); i++)
		if (bindings[i].key == key)
			return bindings[i].action;
	return TUI_ACTION_NONE;
}

const char *keymap_keys(tui_action a)
{
	return a < TUI_ACTION_COUNT ? actions[a].keys : "";
}

const char *keymap_what(tui_action a)
{
	return a < TUI_ACTION_COUNT ? actions[a].what : "";
}

static const struct {
	const char *name;
	int key;
} names[] = {
        {"Enter", '\n'},       {"Esc", 27},          {"Up", KEY_UP},      {"Down", KEY_DOWN},
        {"Left", KEY_LEFT},    {"Right", KEY_RIGHT}, {"PgUp", KEY_PPAGE}, {"PgDn", KEY_NPAGE},
        {"Home", KEY_HOME},    {"End", KEY_END},     {"Space", ' '},      {"Tab", '\t'},
        {"BS", KEY_BACKSPACE}, {"lt", '<'},          {"F1", KEY_F(1)},    {"Resize", KEY_RESIZE},
};

int keymap_parse(const char **p)
{
	const char *s = *p, *end;
	size_t len;

	if (*s != '<' || !(end = strchr(s, '>')) || end == s + 1) {
		*p = s + 1;
		return (unsigned char)*s;
	}
	len = (size_t)(end - s - 1);
	*p = end + 1;
	if (len == 3 && (s[1] == 'C' || s[1] == 'c') && s[2] == '-' && isalpha((unsigned char)s[3]))
		return CTRL_KEY(tolower((unsigned char)s[3]));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == len && strncasecmp(names[i].name, s + 1, len) == 0)
			return names[i].key;
	return -1;
}
