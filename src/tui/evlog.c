/* evlog.c - a ring of recent events and one flash message. */
#include "tui/evlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct tui_evlog {
	tui_event *ring;
	size_t cap, n, head; /* head: where the next event goes */
	char flash[240];
	tui_level flash_level;
	int64_t flash_until;
};

tui_evlog *evlog_new(size_t capacity)
{
	tui_evlog *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->cap = capacity ? capacity : 1;
	l->ring = calloc(l->cap, sizeof(tui_event));
	if (!l->ring) {
		free(l);
		return NULL;
	}
	return l;
}

void evlog_free(tui_evlog *l)
{
	if (!l)
		return;
	free(l->ring);
	free(l);
}

void evlog_add(tui_evlog *l, int64_t at, tui_level level, const char *fmt, ...)
{
	tui_event *e = &l->ring[l->head];
	va_list ap;

	e->at = at;
	e->level = level;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	l->head = (l->head + 1) % l->cap;
	if (l->n < l->cap)
		l->n++;
}

size_t evlog_count(const tui_evlog *l)
{
	return l->n;
}

const tui_event *evlog_get(const tui_evlog *l, size_t i)
{
	if (i >= l->n)
		return NULL;
	return &l->ring[(l->head + l->cap - 1 - i) % l->cap];
}

void evlog_flash(tui_evlog *l, int64_t now_ms, tui_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->flash, sizeof(l->flash), fmt, ap);
	va_end(ap);
	l->flash_level = level;
	l->flash_until = now_ms + EVLOG_FLASH_MS;
}

const char *evlog_flash_text(const tui_evlog *l, int64_t now_ms, tui_level *level)
{
	if (!l->flash[0] || now_ms >= l->flash_until)
		return NULL;
	if (level)
		*level = l->flash_level;
	return l->flash;
}

long evlog_flash_left(const tui_evlog *l, int64_t now_ms)
{
	if (!l->flash[0] || now_ms >= l->flash_until)
		return -1;
	return (long)(l->flash_until - now_ms);
}

void evlog_flash_clear(tui_evlog *l)
{
	l->flash[0] = '\0';
	l->flash_until = 0;
}
