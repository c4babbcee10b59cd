/* log.c - one line per action on stderr, text or JSON lines. */
#include "oauthtop/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static ot_log_format log_format = OT_LOG_TEXT;
static ot_log_level log_min = OT_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void ot_log_setup(ot_log_format fmt, ot_log_level min_level)
{
	log_format = fmt;
	log_min = min_level;
}

/* Writes s as the inside of a JSON string. */
static void json_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

void ot_log(ot_log_level level, const char *account, const char *fmt, ...)
{
	char msg[1024], ts[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	if (level < log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (log_format == OT_LOG_JSON) {
		fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\"", ts, level_names[level]);
		if (account) {
			fputs(",\"account\":\"", stderr);
			json_escape(stderr, account);
			fputc('"', stderr);
		}
		fputs(",\"msg\":\"", stderr);
		json_escape(stderr, msg);
		fputs("\"}\n", stderr);
	} else {
		fprintf(stderr, "%s %-5s %s%s%s\n", ts, level_names[level], account ? account : "",
			account ? ": " : "", msg);
	}
	fflush(stderr);
}
