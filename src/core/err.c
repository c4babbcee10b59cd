/* err.c - the shared error buffer. */
#include "oauthtop/err.h"

#include <stdarg.h>
#include <stdio.h>

int ot_err_set(ot_err *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}
