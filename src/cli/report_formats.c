/* report_formats.c - the status report as JSON (DESIGN §6) and as Prometheus metrics. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"
#include "oauthtop/remedy.h"

static cJSON *num_or_null(bool known, int64_t v)
{
	return known ? cJSON_CreateNumber((double)v) : cJSON_CreateNull();
}

static cJSON *str_or_null(const char *s)
{
	return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static bool row_failed(const ot_row *w)
{
	const ot_credential *c = w->cred;

	return c && c->last_outcome != OT_OUTCOME_OK && c->last_outcome != OT_OUTCOME_NONE;
}

static void add_times(cJSON *o, const ot_row *w, int64_t now)
{
	const ot_credential *c = w->cred;

	cJSON_AddItemToObject(o, "access_expires_in",
			      num_or_null(w->h.access_known, w->h.access_left));
	cJSON_AddItemToObject(o, "refresh_expires_in",
			      num_or_null(w->h.refresh_known, w->h.refresh_left));
	cJSON_AddItemToObject(o, "access_expires_at",
			      num_or_null(w->h.access_known, now + w->h.access_left));
	cJSON_AddItemToObject(o, "refresh_expires_at",
			      num_or_null(w->h.refresh_known, now + w->h.refresh_left));
	cJSON_AddItemToObject(o, "last_refresh_at",
			      num_or_null(c && c->last_success_at, c ? c->last_success_at : 0));
	cJSON_AddItemToObject(o, "last_attempt_at",
			      num_or_null(c && c->last_attempt_at, c ? c->last_attempt_at : 0));
	cJSON_AddItemToObject(o, "next_attempt_at",
			      num_or_null(c && c->next_attempt_at, c ? c->next_attempt_at : 0));
}

static cJSON *row_json(const ot_row *w, int64_t now)
{
	cJSON *o = cJSON_CreateObject();
	const ot_credential *c = w->cred;
	char hint[512] = "";

	cJSON_AddStringToObject(o, "name", w->acct->name);
	cJSON_AddStringToObject(o, "provider", w->acct->provider->name);
	cJSON_AddStringToObject(o, "grant", ot_grant_name(w->acct->grant));
	cJSON_AddStringToObject(o, "state", ot_state_name(w->h.state));
	cJSON_AddBoolToObject(o, "reauth_soon", w->h.reauth_soon);
	cJSON_AddBoolToObject(o, "enabled", w->acct->enabled);
	add_times(o, w, now);
	cJSON_AddNumberToObject(o, "failures", c ? c->failures : 0);
	cJSON_AddItemToObject(o, "last_error", str_or_null(row_failed(w) ? c->last_error : NULL));
	cJSON_AddItemToObject(o, "reason",
			      str_or_null(w->h.state == OT_STATE_OK ? NULL : w->h.reason));
	cJSON_AddBoolToObject(o, "has_refresh_token", c && c->has_refresh_token);
	cJSON_AddItemToObject(o, "refresh_token_fp", str_or_null(c ? c->refresh_fp : NULL));
	if (w->h.state == OT_STATE_REAUTH || w->h.state == OT_STATE_FAILING)
		ot_remedy_hint(w->acct->name, c ? c->last_outcome : OT_OUTCOME_NONE,
			       w->h.reason, hint, sizeof(hint));
	cJSON_AddItemToObject(o, "hint", str_or_null(hint));
	return o;
}

int ot_report_json(FILE *f, const ot_report *r)
{
	cJSON *root = cJSON_CreateObject(), *arr;
	char *out;

	if (!root)
		return -1;
	cJSON_AddNumberToObject(root, "generated_at", (double)r->now);
	cJSON_AddNumberToObject(root, "window", (double)ot_config_settings(r->cfg)->window);
	arr = cJSON_AddArrayToObject(root, "accounts");
	for (size_t i = 0; i < r->n; i++)
		cJSON_AddItemToArray(arr, row_json(&r->rows[i], r->now));
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!out)
		return -1;
	fprintf(f, "%s\n", out);
	free(out);
	return 0;
}

/* Prometheus label values escape backslash, double quote and newline. */
static void prom_label(FILE *f, const char *name, const char *v, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

static void prom_head(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void prom_sample(FILE *f, const char *metric, const ot_row *w, int64_t v)
{
	fprintf(f, "%s{", metric);
	prom_label(f, "account", w->acct->name, true);
	prom_label(f, "provider", w->acct->provider->name, false);
	fprintf(f, "} %lld\n", (long long)v);
}

static void prom_expiries(FILE *f, const ot_report *r)
{
	const char *m = "oauthtop_access_token_expiry_timestamp_seconds";

	prom_head(f, m, "When the access token expires (Unix seconds); absent when unknown.");
	for (size_t i = 0; i < r->n; i++)
		if (r->rows[i].h.access_known)
			prom_sample(f, m, &r->rows[i], r->now + r->rows[i].h.access_left);
	m = "oauthtop_refresh_token_expiry_timestamp_seconds";
	prom_head(f, m, "When the refresh token expires (Unix seconds); absent when unknown.");
	for (size_t i = 0; i < r->n; i++)
		if (r->rows[i].h.refresh_known)
			prom_sample(f, m, &r->rows[i], r->now + r->rows[i].h.refresh_left);
}

static void prom_states(FILE *f, const ot_report *r)
{
	const char *m = "oauthtop_account_state";

	prom_head(f, m, "1 for the account's current state, 0 for the others.");
	for (size_t i = 0; i < r->n; i++) {
		for (int s = 0; s < OT_STATE_COUNT; s++) {
			fprintf(f, "%s{", m);
			prom_label(f, "account", r->rows[i].acct->name, true);
			prom_label(f, "provider", r->rows[i].acct->provider->name, false);
			prom_label(f, "state", ot_state_name((ot_state)s), false);
			fprintf(f, "} %d\n", (int)r->rows[i].h.state == s);
		}
	}
	m = "oauthtop_refresh_token_expiring_soon";
	prom_head(f, m, "1 when the refresh token expires within reauth_warning.");
	for (size_t i = 0; i < r->n; i++)
		prom_sample(f, m, &r->rows[i], r->rows[i].h.reauth_soon);
}

static void prom_attempts(FILE *f, const ot_report *r)
{
	const char *m = "oauthtop_consecutive_failures";

	prom_head(f, m, "Consecutive failed refresh attempts.");
	for (size_t i = 0; i < r->n; i++)
		prom_sample(f, m, &r->rows[i], r->rows[i].cred ? r->rows[i].cred->failures : 0);
	m = "oauthtop_last_refresh_timestamp_seconds";
	prom_head(f, m, "Last successful refresh (Unix seconds); absent when never.");
	for (size_t i = 0; i < r->n; i++)
		if (r->rows[i].cred && r->rows[i].cred->last_success_at)
			prom_sample(f, m, &r->rows[i], r->rows[i].cred->last_success_at);
}

static void prom_keepers(FILE *f, const ot_report *r)
{
	const char *m = "oauthtop_keeper_heartbeat_timestamp_seconds";

	prom_head(f, m, "Last heartbeat of each keeper process (Unix seconds).");
	for (size_t i = 0; i < r->n_keepers; i++) {
		char pid[32];
		snprintf(pid, sizeof(pid), "%lld", (long long)r->keepers[i].pid);
		fprintf(f, "%s{", m);
		prom_label(f, "host", r->keepers[i].host, true);
		prom_label(f, "pid", pid, false);
		prom_label(f, "kind", r->keepers[i].kind ? r->keepers[i].kind : "", false);
		fprintf(f, "} %lld\n", (long long)r->keepers[i].heartbeat);
	}
}

void ot_report_prometheus(FILE *f, const ot_report *r)
{
	prom_expiries(f, r);
	prom_states(f, r);
	prom_attempts(f, r);
	prom_keepers(f, r);
	prom_head(f, "oauthtop_status_generated_timestamp_seconds",
		  "When this status was written (Unix seconds).");
	fprintf(f, "oauthtop_status_generated_timestamp_seconds %lld\n", (long long)r->now);
}
