/* remedy.h - one table of failure reasons, their words and their remediation hints, used by
 * the headless commands and the console alike (STYLE pattern 8). */
#ifndef OAUTHTOP_REMEDY_H
#define OAUTHTOP_REMEDY_H

#include <stddef.h>

#include "oauthtop/credential.h"

/* Writes what happened and what fixes it for account `account`, given its last outcome and
 * last_error, e.g. "refresh token expired or revoked: run `oauthtop authorize crm-sync`
 * (or press a in the console)". Empty string when there is nothing to do. last_error may
 * also be a health reason ("no refresh token", "refresh token expired"...). */
void ot_remedy_hint(const char *account, ot_outcome outcome, const char *last_error, char *out,
                    size_t outlen);

/* Same, naming the provider whose client configuration to fix (provider NULL: "the provider
 * of ACCOUNT"). */
void ot_remedy_hint_provider(const char *account, const char *provider, ot_outcome outcome,
                             const char *last_error, char *out, size_t outlen);

/* A short label of the failure for narrow columns and flash messages: "refresh token expired
 * or revoked", "client rejected", "temporary failure"...; "" when there is nothing to do. */
const char *ot_remedy_label(ot_outcome outcome, const char *last_error);

#endif
