/* report.c - building the status report and its table form. */
#include "cli/report.h"

#include <stdlib.h>
#include <string.h>

static const ot_credential *find_cred(const ot_report *r, const char *name)
{
	size_t lo = 0, hi = r->n_creds;

	while (lo < hi) { /* ot_store_list sorts by account name */
		size_t mid = (lo + hi) / 2;
		int c = strcmp(r->creds[mid].account, name);
		if (c == 0)
			return &r->creds[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int row_cmp(const void *a, const void *b)
{
	const ot_row *x = a, *y = b;

	if (x->h.state != y->h.state)
		return (int)x->h.state - (int)y->h.state;
	return strcmp(x->acct->name, y->acct->name);
}

int ot_report_build(ot_cli *cli, int64_t now, ot_report *r)
{
	ot_err err = {{0}};
	const ot_settings *s = ot_config_settings(cli->cfg);
	size_t n = ot_config_account_count(cli->cfg);

	memset(r, 0, sizeof(*r));
	r->cfg = cli->cfg;
	r->now = now;
	if (ot_store_list(cli->store, 0, &r->creds, &r->n_creds, &err) < 0 ||
	    ot_store_keepers(cli->store, &r->keepers, &r->n_keepers, &err) < 0) {
		ot_cli_error("%s", err.msg);
		ot_report_free(r);
		return -1;
	}
	r->rows = calloc(n ? n : 1, sizeof(ot_row));
	if (!r->rows) {
		ot_cli_error("out of memory");
		ot_report_free(r);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		ot_row *w = &r->rows[r->n++];
		w->acct = ot_config_account(cli->cfg, i);
		w->cred = find_cred(r, w->acct->name);
		w->h = ot_health_eval(w->acct, w->cred, now, s->reauth_warning);
	}
	qsort(r->rows, r->n, sizeof(ot_row), row_cmp);
	return 0;
}

void ot_report_free(ot_report *r)
{
	free(r->rows);
	ot_store_list_free(r->creds, r->n_creds);
	ot_store_keepers_free(r->keepers, r->n_keepers);
	memset(r, 0, sizeof(*r));
}

int ot_report_exit(const ot_report *r)
{
	int worst = OT_EXIT_OK;

	for (size_t i = 0; i < r->n; i++) {
		const ot_row *w = &r->rows[i];
		if (!w->acct->enabled)
			continue;
		if (w->h.state == OT_STATE_REAUTH)
			return OT_EXIT_REAUTH;
		if (w->h.state != OT_STATE_OK || w->h.reauth_soon)
			worst = OT_EXIT_WARN;
	}
	return worst;
}

static const char *row_error(const ot_row *w)
{
	if (w->h.state == OT_STATE_OK || w->h.state == OT_STATE_DUE ||
	    w->h.state == OT_STATE_DISABLED)
		return "";
	return w->h.reason ? w->h.reason : "";
}

void ot_report_table(FILE *f, const ot_report *r)
{
	fprintf(f, "%-24s %-12s %-9s %-13s %-14s %-13s %4s  %s\n", "ACCOUNT", "PROVIDER", "STATE",
		"ACCESS", "REFRESH", "LAST REFRESH", "FAIL", "LAST ERROR");
	for (size_t i = 0; i < r->n; i++) {
		const ot_row *w = &r->rows[i];
		char acc[40], ref[40], last[40], refm[48];
		ot_countdown(w->h.access_left, w->h.access_known, true, acc, sizeof(acc));
		if (w->acct->grant == OT_GRANT_CLIENT_CREDENTIALS)
			snprintf(ref, sizeof(ref), "-");
		else
			ot_countdown(w->h.refresh_left, w->h.refresh_known, true, ref,
				     sizeof(ref));
		snprintf(refm, sizeof(refm), "%s%s", ref, w->h.reauth_soon ? " !" : "");
		ot_ago(w->cred ? w->cred->last_success_at : 0, r->now, last, sizeof(last));
		fprintf(f, "%-24s %-12s %-9s %-13s %-14s %-13s %4d  %s\n", w->acct->name,
			w->acct->provider->name, ot_state_name(w->h.state), acc, refm, last,
			w->cred ? w->cred->failures : 0, row_error(w));
	}
}
