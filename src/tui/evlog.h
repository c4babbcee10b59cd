/* evlog.h - the session's event log (refresh results, newest first) and the flash message of
 * the status line (a level and a lifetime). */
#ifndef OAUTHTOP_TUI_EVLOG_H
#define OAUTHTOP_TUI_EVLOG_H

#include <stddef.h>
#include <stdint.h>

#define EVLOG_FLASH_MS 6000

typedef enum tui_level { TUI_LEVEL_INFO, TUI_LEVEL_WARN, TUI_LEVEL_ERROR } tui_level;

typedef struct tui_event {
	int64_t at; /* Unix seconds */
	tui_level level;
	char text[240];
} tui_event;

typedef struct tui_evlog tui_evlog;

tui_evlog *evlog_new(size_t capacity);
void evlog_free(tui_evlog *l);

void evlog_add(tui_evlog *l, int64_t at, tui_level level, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
size_t evlog_count(const tui_evlog *l);
/* i = 0 is the newest. */
const tui_event *evlog_get(const tui_evlog *l, size_t i);

/* Shows text in the status line for EVLOG_FLASH_MS from now_ms. */
void evlog_flash(tui_evlog *l, int64_t now_ms, tui_level level, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* The live flash message or NULL. */
const char *evlog_flash_text(const tui_evlog *l, int64_t now_ms, tui_level *level);
/* Milliseconds until the flash expires; -1 when none. */
long evlog_flash_left(const tui_evlog *l, int64_t now_ms);
void evlog_flash_clear(tui_evlog *l);

#endif
