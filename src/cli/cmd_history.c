/* cmd_history.c - `oauthtop history [ACCOUNT]`: refresh history from the store, newest
 * first. Fingerprints only, never token values. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static const char history_help[] =
	"usage: oauthtop history [ACCOUNT] [--limit N] [--format table|json]\n\n"
	"Shows the refresh history (every account's when ACCOUNT is omitted), newest first:\n"
	"time, account, what happened, why, and the refresh token's fingerprint before -> after.\n";

static void print_table(const ot_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ts[32];
		time_t t = (time_t)ev[i].at;
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
		printf("%s  %-20s %-10s %s -> %s  %s%s%s\n", ts, ev[i].account, ev[i].kind,
		       ev[i].old_fp[0] ? ev[i].old_fp : "-", ev[i].new_fp[0] ? ev[i].new_fp : "-",
		       ev[i].reason ? ev[i].reason : "", ev[i].actor ? "  by " : "",
		       ev[i].actor ? ev[i].actor : "");
	}
}

static int print_json(const ot_event *ev, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	char *s;

	for (size_t i = 0; arr && i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "at", (double)ev[i].at);
		cJSON_AddStringToObject(o, "account", ev[i].account ? ev[i].account : "");
		cJSON_AddStringToObject(o, "kind", ev[i].kind ? ev[i].kind : "");
		cJSON_AddStringToObject(o, "reason", ev[i].reason ? ev[i].reason : "");
		cJSON_AddStringToObject(o, "old_fp", ev[i].old_fp);
		cJSON_AddStringToObject(o, "new_fp", ev[i].new_fp);
		cJSON_AddStringToObject(o, "actor", ev[i].actor ? ev[i].actor : "");
		cJSON_AddItemToArray(arr, o);
	}
	s = arr ? cJSON_PrintUnformatted(arr) : NULL;
	cJSON_Delete(arr);
	if (!s)
		return -1;
	puts(s);
	free(s);
	return 0;
}

int ot_cmd_history(ot_cli *cli, int argc, char **argv)
{
	const char *pos[1], *limit_s = "50", *format = "table";
	bool help = false;
	int npos, rc = OT_EXIT_OK;
	ot_event *ev = NULL;
	size_t n = 0;
	ot_err err = {{0}};
	long long limit;
	ot_opt opts[] = {{"limit", 1, NULL, &limit_s}, {"format", 1, NULL, &format}, {0}};

	if (ot_cli_parse("history", argc, argv, opts, pos, 1, &npos, &help) < 0)
		return OT_EXIT_USAGE;
	if (help) {
		fputs(history_help, stdout);
		return OT_EXIT_OK;
	}
	if (ot_cli_number(limit_s, 0, LONG_MAX, &limit) < 0) {
		ot_cli_error("history: --limit takes a number >= 0 (0 = all), not \"%s\"", limit_s);
		return OT_EXIT_USAGE;
	}
	if (strcmp(format, "table") && strcmp(format, "json")) {
		ot_cli_error("history: unknown format \"%s\" (table or json)", format);
		return OT_EXIT_USAGE;
	}
	if (ot_cli_load(cli) < 0 || (npos && !ot_cli_account(cli, pos[0])) ||
	    ot_cli_open_store(cli, false) < 0)
		return OT_EXIT_USAGE;
	if (ot_store_events(cli->store, npos ? pos[0] : NULL, (size_t)limit, &ev, &n, &err) < 0) {
		ot_cli_error("%s", err.msg);
		return OT_EXIT_USAGE;
	}
	if (strcmp(format, "json") == 0)
		rc = print_json(ev, n) < 0 ? OT_EXIT_USAGE : OT_EXIT_OK;
	else if (n == 0)
		printf("no history%s%s\n", npos ? " for " : "", npos ? pos[0] : "");
	else
		print_table(ev, n);
	ot_store_events_free(ev, n);
	return rc;
}
