/* err.h - one error buffer passed by callers; every failing function fills it. */
#ifndef OAUTHTOP_ERR_H
#define OAUTHTOP_ERR_H

#include <stddef.h>

/* A one-line, human error message ("config.json: accounts[2].provider: no provider named
 * \"acmee\""). Never contains a token or a secret. */
typedef struct ot_err {
	char msg[512];
} ot_err;

/* Formats msg into err (if err is not NULL); always returns -1 so callers can
 * `return ot_err_set(err, ...)`. */
int ot_err_set(ot_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
