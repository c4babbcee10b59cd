/* cmd_revoke.c - `oauthtop revoke ACCOUNT`: revokes the refresh token at the provider
 * (RFC 7009) and forgets the credential locally; on 503 keeps it and says so. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "oauthtop/discovery.h"
#include "oauthtop/revoke.h"
#include "oauthtop/secret.h"

static const char revoke_help[] =
        "usage: oauthtop revoke ACCOUNT [--local]\n\n"
        "Revokes ACCOUNT's refresh token at the provider's revocation endpoint (RFC 7009; the\n"
        "access token when there is no refresh token), then forgets the credential here. When\n"
        "the provider cannot revoke now (503, network), the credential is kept: run the command\n"
        "again later.\n\n"
        "  --local   forget the credential here without asking the provider\n"
        "exit: 0 revoked and forgotten (or nothing stored); 1 kept (provider unavailable or\n"
        "      refusing, or another keeper holds the account); 3 usage or configuration error\n";

static int revoke_forget(ot_cli *cli, const ot_account *a, const ot_credential *c,
                         const char *reason)
{
	ot_err err = {{0}};
	char actor[320];
	ot_event ev = {0};

	if (ot_store_delete(cli->store, a->name, &err) < 0) {
		ot_cli_error("revoke: %s", err.msg);
		return OT_EXIT_USAGE;
	}
	snprintf(actor, sizeof(actor), "revoke@%s:%lld", cli->host, (long long)cli->holder.pid);
	ev.at = ot_cli_now();
	ev.account = (char *)a->name;
	ev.kind = (char *)"revoked";
	ev.reason = (char *)reason;
	ev.actor = actor;
	snprintf(ev.old_fp, sizeof(ev.old_fp), "%s", c->refresh_fp);
	if (ot_store_event_add(cli->store, &ev, &err) < 0)
		ot_cli_error("revoke: %s: forgotten, but the history event failed: %s", a->name,
		             err.msg);
	return OT_EXIT_OK;
}

static void revoke_release(ot_cli *cli, const ot_account *a)
{
	ot_err err = {{0}};
	const char *names[1] = {a->name};

	if (ot_store_lease_release(cli->store, &cli->holder, names, 1, &err) < 0)
		ot_cli_error("revoke: %s", err.msg);
}

/* Asks the provider; returns an exit code, or -1 when the credential may be forgotten. */
static int revoke_remote(ot_cli *cli, const ot_account *a, const ot_credential *c)
{
	const bool rt = c->refresh_token && *c->refresh_token;
	ot_revoke_result r;
	ot_err err = {{0}};
	int64_t now = ot_cli_now();

	if (ot_revoke_token(a->provider, ot_config_settings(cli->cfg),
	                    rt ? c->refresh_token : c->access_token,
	                    rt ? "refresh_token" : "access_token", now, &r, &err) < 0) {
		ot_cli_error("revoke: %s: %s (--local forgets the credential here only)", a->name,
		             err.msg);
		return OT_EXIT_USAGE;
	}
	if (r.kind == OT_REVOKE_DONE)
		return -1;
	if (r.kind == OT_REVOKE_UNAVAILABLE && r.retry_at > now)
		ot_cli_error("revoke: %s: the provider cannot revoke now (%s; retry after %lld s): "
		             "the credential is kept and still valid; run `oauthtop revoke %s` "
		             "again later",
		             a->name, r.reason, (long long)(r.retry_at - now), a->name);
	else if (r.kind == OT_REVOKE_UNAVAILABLE)
		ot_cli_error("revoke: %s: the provider cannot revoke now (%s): the credential is "
		             "kept and still valid; run `oauthtop revoke %s` again later",
		             a->name, r.reason, a->name);
	else
		ot_cli_error("revoke: %s: the provider refused the revocation (%s): the "
		             "credential is kept (--local forgets it here only)",
		             a->name, r.reason);
	return OT_EXIT_WARN;
}

static int revoke_account(ot_cli *cli, const ot_account *a, bool local)
{
	ot_lease lease = {0};
	ot_err err = {{0}};
	int rc;

	lease.account = a->name;
	if (ot_store_lease_take(cli->store, &cli->holder, &lease, 1, ot_cli_now(), 60, &err) < 0) {
		ot_cli_error("revoke: %s", err.msg);
		return OT_EXIT_USAGE;
	}
	if (!lease.granted) {
		ot_cli_error("revoke: %s is being refreshed by another keeper (%s:%lld); try again",
		             a->name, lease.cred.lease_host ? lease.cred.lease_host : "?",
		             (long long)lease.cred.lease_pid);
		ot_credential_clear(&lease.cred);
		return OT_EXIT_WARN;
	}
	rc = local ? -1 : revoke_remote(cli, a, &lease.cred);
	if (rc < 0) {
		rc = revoke_forget(
		        cli, a, &lease.cred,
		        local ? "credential forgotten locally (not revoked at the provider)"
		        : lease.cred.has_refresh_token
		                ? "refresh token revoked at the provider; credential forgotten"
		                : "access token revoked at the provider; credential forgotten");
		if (rc == OT_EXIT_OK)
			printf("%s: %s; `oauthtop authorize %s` gets a new grant\n", a->name,
			       local ? "forgotten here (not revoked at the provider)"
			             : "revoked at the provider and forgotten",
			       a->name);
	} else {
		revoke_release(cli, a);
	}
	ot_credential_clear(&lease.cred);
	return rc;
}

/* 1 when something is stored for the account, 0 nothing, -1 error (printed). */
static int revoke_has_credential(ot_cli *cli, const ot_account *a)
{
	ot_credential c = {0};
	ot_err err = {{0}};
	int found = ot_store_get(cli->store, a->name, 0, &c, &err);
	int rc = found < 0 ? -1 : found && (c.has_refresh_token || c.has_access_token);

	if (found < 0)
		ot_cli_error("revoke: %s", err.msg);
	ot_credential_clear(&c);
	return rc;
}

/* Dispatched by main.c; cli.h has no prototype for it yet. */
int ot_cmd_revoke(ot_cli *cli, int argc, char **argv);

int ot_cmd_revoke(ot_cli *cli, int argc, char **argv)
{
	bool local = false, help = false;
	const ot_opt opts[] = {{"local", 0, &local, NULL}, {NULL, 0, NULL, NULL}};
	const char *pos[1];
	int npos, has;
	const ot_account *a;
	ot_err err = {{0}};

	if (ot_cli_parse("revoke", argc, argv, opts, pos, 1, &npos, &help) < 0)
		return OT_EXIT_USAGE;
	if (help) {
		fputs(revoke_help, stdout);
		return OT_EXIT_OK;
	}
	if (npos < 1) {
		ot_cli_error("revoke: which account? (usage: oauthtop revoke ACCOUNT)");
		return OT_EXIT_USAGE;
	}
	if (ot_cli_load(cli) < 0 || !(a = ot_cli_account(cli, pos[0])) ||
	    ot_cli_open_store(cli, false) < 0)
		return OT_EXIT_USAGE;
	if ((has = revoke_has_credential(cli, a)) <= 0) {
		if (has == 0)
			printf("%s: nothing stored, nothing to revoke\n", a->name);
		return has == 0 ? OT_EXIT_OK : OT_EXIT_USAGE;
	}
	if (!local && ot_discovery_apply(cli->cfg, a->provider->name, cli->store, ot_cli_now(), 0,
	                                 &err) < 0) {
		ot_cli_error("revoke: %s", err.msg);
		return OT_EXIT_USAGE;
	}
	return revoke_account(cli, a, local);
}
