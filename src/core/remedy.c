/* remedy.c - the one table of failure words and remediation hints (STYLE pattern 8). */
#include "oauthtop/remedy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* How a row matches last_error: by the OAuth code at its start ("invalid_grant: ..."), by a
 * prefix (health reasons), by a word anywhere, or by the outcome alone. */
enum remedy_match { M_OUTCOME, M_CODE, M_PREFIX, M_CONTAINS };

#define OUT_ANY (-1)

/* Checked in order, first match wins: health's own reasons first (they say why the state is
 * reauth whatever the last attempt did), then the outcome's kind, then OAuth codes. In hints,
 * {account} and {provider} are replaced. */
#define REMEDY_TABLE(X)                                                                            \
	X(NEVER, OUT_ANY, M_PREFIX, "not authorized yet", "not authorized yet",                    \
	  "no credential is stored: run `oauthtop authorize {account}` (or press a in the "        \
	  "console), or `oauthtop import {account} FILE`")                                         \
	X(NO_RT, OUT_ANY, M_PREFIX, "no refresh token", "no refresh token",                        \
	  "no refresh token is stored, so the access token cannot be renewed: run `oauthtop "      \
	  "authorize {account}` (or press a in the console)")                                      \
	X(RT_EXPIRED, OUT_ANY, M_PREFIX, "refresh token expired", "refresh token expired",         \
	  "the refresh token's declared lifetime is over: run `oauthtop authorize {account}` (or " \
	  "press a in the console)")                                                               \
	X(LOST, OUT_ANY, M_CONTAINS, "answer lost during rotation", "answer lost during rotation", \
	  "the answer carrying the new refresh token was lost and the old one is refused: run "    \
	  "`oauthtop authorize {account}` (or press a in the console)")                            \
	X(TRANSIENT, OT_OUTCOME_TRANSIENT, M_OUTCOME, NULL, "temporary failure",                   \
	  "temporary failure: oauthtop retries automatically with backoff; the stored tokens are " \
	  "kept")                                                                                  \
	X(CLIENT, OT_OUTCOME_CLIENT, M_OUTCOME, NULL, "client rejected",                           \
	  "the provider rejected the client credentials: fix client_id/client_secret of "          \
	  "{provider} in the configuration; oauthtop retries when they change")                    \
	X(CLIENT_TEXT, OUT_ANY, M_PREFIX, "client rejected", "client rejected",                    \
	  "the provider rejected the client credentials: fix client_id/client_secret of "          \
	  "{provider} in the configuration; oauthtop retries when they change")                    \
	X(REUSE, OUT_ANY, M_CONTAINS, "reuse", "refresh token reuse detected",                     \
	  "the provider saw a rotated-out refresh token used again and revoked the grant (two "    \
	  "stores, or a restored one?): keep one store per account, then run `oauthtop authorize " \
	  "{account}` (or press a in the console)")                                                \
	X(REUSED, OUT_ANY, M_CONTAINS, "already used", "refresh token reuse detected",             \
	  "the provider saw a rotated-out refresh token used again and revoked the grant (two "    \
	  "stores, or a restored one?): keep one store per account, then run `oauthtop authorize " \
	  "{account}` (or press a in the console)")                                                \
	X(DISCOVERY, OUT_ANY, M_CONTAINS, "discovery", "provider metadata unusable",               \
	  "the endpoints of {provider} come from its issuer's metadata, which could not be read "  \
	  "or names another issuer: check `issuer` (or set token_url), then run `oauthtop "        \
	  "authorize {account}`")                                                                  \
	X(ISSUER, OUT_ANY, M_CONTAINS, "issuer mismatch", "provider metadata unusable",            \
	  "the endpoints of {provider} come from its issuer's metadata, which names another "      \
	  "issuer: check `issuer` (or set token_url), then run `oauthtop authorize {account}`")   \
	X(INVALID_GRANT, OUT_ANY, M_CODE, "invalid_grant", "refresh token expired or revoked",     \
	  "the refresh token expired or was revoked: run `oauthtop authorize {account}` (or "      \
	  "press a in the console)")                                                               \
	X(BAD_RT, OUT_ANY, M_CODE, "bad_refresh_token", "refresh token expired or revoked",        \
	  "the provider no longer accepts the refresh token: run `oauthtop authorize {account}` "  \
	  "(or press a in the console)")                                                           \
	X(SCOPE, OUT_ANY, M_CODE, "invalid_scope", "scope not granted",                            \
	  "consent was withdrawn or the scope is not granted: check the scope of {account}, then " \
	  "run `oauthtop authorize {account}` (or press a in the console)")                        \
	X(REQUEST, OUT_ANY, M_CODE, "invalid_request", "request rejected",                         \
	  "the provider rejected the refresh request: check the scope and extra_params of "        \
	  "{provider}, then run `oauthtop authorize {account}` (or press a in the console)")       \
	X(DENIED, OUT_ANY, M_CODE, "access_denied", "access denied",                               \
	  "access was denied or withdrawn: run `oauthtop authorize {account}` (or press a in the " \
	  "console) once access is granted again")                                                 \
	X(PERMANENT, OT_OUTCOME_PERMANENT, M_OUTCOME, NULL, "grant rejected",                      \
	  "the provider rejected the grant: run `oauthtop authorize {account}` "                   \
	  "(or press a in the console)")

typedef struct remedy_row {
	int outcome;
	enum remedy_match match;
	const char *text;
	const char *label;
	const char *hint;
} remedy_row;

static const remedy_row remedy_rows[] = {
#define REMEDY_ROW(id, outcome, match, text, label, hint) {outcome, match, text, label, hint},
        REMEDY_TABLE(REMEDY_ROW)
#undef REMEDY_ROW
};

static int remedy_matches(const remedy_row *r, ot_outcome outcome, const char *err)
{
	size_t n = r->text ? strlen(r->text) : 0;

	if (r->outcome != OUT_ANY && r->outcome != (int)outcome)
		return 0;
	switch (r->match) {
	case M_OUTCOME:
		return 1;
	case M_CODE:
		return strncasecmp(err, r->text, n) == 0 && (err[n] == ':' || err[n] == '\0');
	case M_PREFIX:
		return strncasecmp(err, r->text, n) == 0;
	case M_CONTAINS:
		return strcasestr(err, r->text) != NULL;
	}
	return 0;
}

static const remedy_row *remedy_find(ot_outcome outcome, const char *last_error)
{
	const char *err = last_error ? last_error : "";

	for (size_t i = 0; i < sizeof(remedy_rows) / sizeof(remedy_rows[0]); i++)
		if (remedy_matches(&remedy_rows[i], outcome, err))
			return &remedy_rows[i];
	return NULL;
}

/* Copies hint into out, replacing {account} and {provider}; always NUL-terminated. */
static void remedy_expand(const char *hint, const char *account, const char *provider, char *out,
                          size_t outlen)
{
	char prov[192];
	size_t o = 0;

	if (provider)
		snprintf(prov, sizeof(prov), "provider %s", provider);
	else
		snprintf(prov, sizeof(prov), "the provider of %s", account);
	while (*hint && o + 1 < outlen) {
		const char *sub = NULL;
		if (strncmp(hint, "{account}", 9) == 0)
			sub = account;
		else if (strncmp(hint, "{provider}", 10) == 0)
			sub = prov;
		if (!sub) {
			out[o++] = *hint++;
			continue;
		}
		hint = strchr(hint, '}') + 1;
		o += (size_t)snprintf(out + o, outlen - o, "%s", sub);
		if (o >= outlen)
			o = outlen - 1;
	}
	out[o] = '\0';
}

void ot_remedy_hint_provider(const char *account, const char *provider, ot_outcome outcome,
                             const char *last_error, char *out, size_t outlen)
{
	const remedy_row *r;

	if (!outlen)
		return;
	out[0] = '\0';
	if (outcome == OT_OUTCOME_OK && !last_error)
		return;
	r = remedy_find(outcome, last_error);
	if (r)
		remedy_expand(r->hint, account ? account : "ACCOUNT", provider, out, outlen);
}

void ot_remedy_hint(const char *account, ot_outcome outcome, const char *last_error, char *out,
                    size_t outlen)
{
	ot_remedy_hint_provider(account, NULL, outcome, last_error, out, outlen);
}

const char *ot_remedy_label(ot_outcome outcome, const char *last_error)
{
	const remedy_row *r = remedy_find(outcome, last_error);

	return r ? r->label : "";
}
