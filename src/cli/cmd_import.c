/* cmd_import.c - `oauthtop import ACCOUNT [FILE|-]`: replaces an account's credential with a
 * token-endpoint answer, through the same parser and the same lease as a refresh. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "oauthtop/token.h"

static const char import_help[] =
	"usage: oauthtop import ACCOUNT [FILE|-]\n\n"
	"Replaces ACCOUNT's credential with a token-endpoint answer (JSON such as\n"
	"{\"access_token\":…,\"token_type\":\"Bearer\",\"expires_in\":3600,\"refresh_token\":…}),\n"
	"read from FILE or standard input. expires_in counts from now.\n"
	"exit: 0 imported; 1 the account is being refreshed by another keeper; 3 bad input\n";

/* Reads at most OT_ANSWER_MAX bytes; returns NULL (with a message) on error or overflow. */
static char *read_input(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f) {
		ot_cli_error("import: %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(OT_ANSWER_MAX + 1);
	n = buf ? fread(buf, 1, OT_ANSWER_MAX + 1, f) : 0;
	if (buf && ferror(f)) { /* a directory, an I/O error: say so, not "empty body" */
		int e = errno;
		ot_cli_error("import: %s: %s", path, strerror(e ? e : EIO));
		if (f != stdin)
			fclose(f);
		ot_wipe(buf, n);
		free(buf);
		return NULL;
	}
	if (f != stdin)
		fclose(f);
	if (!buf || n > OT_ANSWER_MAX) {
		ot_cli_error("import: %s: larger than 1 MiB", path);
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* Builds the new credential from a parsed answer; returns -1 if it is not a token answer. */
static int build_credential(const ot_account *a, const char *src, const ot_token_answer *ans,
			    int64_t now, ot_credential *c)
{
	if (ans->kind == OT_ANSWER_ERROR) {
		ot_cli_error("import: %s: an error answer (%s), not a token", src, ans->error);
		return -1;
	}
	if (ans->kind != OT_ANSWER_TOKEN) {
		ot_cli_error("import: %s: not a token answer: %s", src,
			     ans->malformed_reason ? ans->malformed_reason : "malformed");
		return -1;
	}
	ot_credential_set_str(&c->account, a->name);
	ot_token_apply(c, ans, now, a->provider);
	c->last_attempt_at = 0;
	c->last_outcome = OT_OUTCOME_NONE;
	c->lease_expires_at = 0;
	c->inflight_fp[0] = '\0';
	if (a->grant == OT_GRANT_REFRESH_TOKEN && !c->has_refresh_token)
		fprintf(stderr, "oauthtop: import: warning: %s: no refresh token in the answer; "
				"the account needs reauthorization when the access token expires\n",
			a->name);
	return 0;
}

static int commit_import(ot_cli *cli, const ot_credential *c, const char *old_fp)
{
	ot_err err = {{0}};
	char actor[320];
	ot_event ev = {0};
	ot_commit cm = {c, &ev, false, NULL};
	size_t skipped = 0;

	snprintf(actor, sizeof(actor), "import@%s:%lld", cli->host, (long long)cli->holder.pid);
	ev.at = ot_cli_now();
	ev.account = c->account;
	ev.kind = (char *)"imported";
	ev.reason = (char *)"credential imported";
	ev.actor = actor;
	snprintf(ev.old_fp, sizeof(ev.old_fp), "%s", old_fp);
	snprintf(ev.new_fp, sizeof(ev.new_fp), "%s", c->refresh_fp);
	if (ot_store_commit(cli->store, &cli->holder, &cm, 1, &skipped, &err) < 0) {
		ot_cli_error("%s", err.msg);
		return OT_EXIT_USAGE;
	}
	return skipped ? OT_EXIT_WARN : OT_EXIT_OK;
}

static int import_answer(ot_cli *cli, const ot_account *a, const char *src, const char *body,
			 size_t len)
{
	ot_token_answer ans;
	ot_lease lease = {0};
	ot_err err = {{0}};
	ot_credential c = {0};
	int rc = OT_EXIT_USAGE;
	int64_t now = ot_cli_now();

	ot_token_parse(body, len, &ans);
	lease.account = a->name;
	if (build_credential(a, src, &ans, now, &c) < 0)
		goto out;
	if (ot_store_lease_take(cli->store, &cli->holder, &lease, 1, now, 60, &err) < 0) {
		ot_cli_error("%s", err.msg);
		goto out;
	}
	if (!lease.granted) {
		ot_cli_error("import: %s is being refreshed by another keeper (%s:%lld); try again",
			     a->name, lease.cred.lease_host ? lease.cred.lease_host : "?",
			     (long long)lease.cred.lease_pid);
		rc = OT_EXIT_WARN;
		goto out;
	}
	rc = commit_import(cli, &c, lease.cred.refresh_fp);
	if (rc == OT_EXIT_OK)
		printf("%s: imported (refresh token %s)\n", a->name,
		       c.refresh_fp[0] ? c.refresh_fp : "none");
out:
	ot_credential_clear(&lease.cred);
	ot_credential_clear(&c);
	ot_token_answer_free(&ans);
	return rc;
}

int ot_cmd_import(ot_cli *cli, int argc, char **argv)
{
	const char *pos[2];
	bool help = false;
	int npos, rc;
	size_t len = 0;
	char *body;
	const ot_account *a;

	if (ot_cli_parse("import", argc, argv, NULL, pos, 2, &npos, &help) < 0)
		return OT_EXIT_USAGE;
	if (help) {
		fputs(import_help, stdout);
		return OT_EXIT_OK;
	}
	if (npos < 1) {
		ot_cli_error("import: which account? (usage: oauthtop import ACCOUNT [FILE|-])");
		return OT_EXIT_USAGE;
	}
	if (ot_cli_load(cli) < 0 || !(a = ot_cli_account(cli, pos[0])))
		return OT_EXIT_USAGE;
	if (!(body = read_input(npos > 1 ? pos[1] : "-", &len)))
		return OT_EXIT_USAGE;
	rc = ot_cli_open_store(cli, false) < 0
		     ? OT_EXIT_USAGE
		     : import_answer(cli, a, npos > 1 ? pos[1] : "standard input", body, len);
	ot_wipe(body, len);
	free(body);
	return rc;
}
