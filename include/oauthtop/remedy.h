/* remedy.h - one table of failure reasons, their words and their remediation hints, used by
 * the headless commands and the console alike (STYLE pattern 8). */
#ifndef OAUTHTOP_REMEDY_H
#define OAUTHTOP_REMEDY_H

#include <stddef.h>

#include "oauthtop/credential.h"

/* Writes what happened and what fixes it for account `account`, given its last outcome and
 * last_error, e.g. "refresh token expired or revoked: run `oauthtop authorize crm-sync`
 * (or press a in the console)". Empty string when there is nothing to do. */
void ot_remedy_hint(const char *account, ot_outcome outcome, const char *last_error, char *out,
		    size_t outlen);

#endif
