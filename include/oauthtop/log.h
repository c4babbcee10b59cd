/* log.h - one log line per action on stderr, as text or JSON lines. Never pass a token. */
#ifndef OAUTHTOP_LOG_H
#define OAUTHTOP_LOG_H

typedef enum ot_log_level { OT_LOG_DEBUG, OT_LOG_INFO, OT_LOG_WARN, OT_LOG_ERROR } ot_log_level;
typedef enum ot_log_format { OT_LOG_TEXT, OT_LOG_JSON } ot_log_format;

void ot_log_setup(ot_log_format fmt, ot_log_level min_level);

/* Logs one line; account may be NULL. */
void ot_log(ot_log_level level, const char *account, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
