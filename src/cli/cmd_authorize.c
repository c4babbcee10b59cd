/* cmd_authorize.c - `oauthtop authorize ACCOUNT`: a new grant through the device flow
 * (RFC 8628) or the authorization code flow with PKCE on a loopback redirect (RFC 8252),
 * stored as the account's credential. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/qr.h"
#include "oauthtop/authorize.h"
#include "oauthtop/discovery.h"
#include "oauthtop/secret.h"

extern char **environ;

static const char authorize_help[] =
        "usage: oauthtop authorize ACCOUNT [--device|--code] [--no-browser] [--no-qr]\n"
        "                          [--port N] [--timeout S] [--scope SCOPE]\n\n"
        "Gets a new grant for ACCOUNT and stores it as its credential.\n"
        "  device flow (RFC 8628), the default when the provider has device_authorization_url:\n"
        "    shows a URL and a code to enter there (and a QR code of the complete URL),\n"
        "    then polls until the code is approved, denied or expired;\n"
        "  code + PKCE (RFC 7636, RFC 8252), when the provider has authorization_url:\n"
        "    prints the URL to open (opened with xdg-open when a display exists) and waits\n"
        "    for the browser's redirect to http://127.0.0.1:PORT/callback.\n"
        "Requests the account's scope, else offline_access.\n\n"
        "  --device, --code  choose the flow\n"
        "  --no-browser      never start a browser\n"
        "  --no-qr           no QR code\n"
        "  --port N          loopback port for the redirect (default: redirect_port, else random)\n"
        "  --timeout S       code flow: seconds to wait for the redirect (default 300)\n"
        "  --scope SCOPE     request this scope instead\n"
        "exit: 0 authorized; 1 failed (network, server); 2 denied or expired; 3 usage or\n"
        "      configuration error (client rejected, no endpoint)\n";

static volatile sig_atomic_t authorize_interrupted;

static void authorize_on_signal(int sig)
{
	(void)sig;
	authorize_interrupted = 1;
}

typedef struct authorize_opts {
	bool device, code, no_browser, no_qr;
	const char *port, *timeout, *scope;
} authorize_opts;

static int authorize_number(const char *what, const char *v, long lo, long hi, long *out)
{
	char *end = NULL;
	long n;

	errno = 0;
	n = v ? strtol(v, &end, 10) : 0;
	if (!v || errno || !end || *end || n < lo || n > hi) {
		ot_cli_error("authorize: --%s must be a number from %ld to %ld", what, lo, hi);
		return -1;
	}
	*out = n;
	return 0;
}

static int authorize_build_opts(const authorize_opts *ao, ot_auth_opts *o)
{
	long v;

	memset(o, 0, sizeof(*o));
	if (ao->device && ao->code) {
		ot_cli_error("authorize: --device and --code exclude each other");
		return -1;
	}
	o->flow = ao->device ? OT_FLOW_DEVICE : ao->code ? OT_FLOW_CODE : OT_FLOW_AUTO;
	o->scope = ao->scope;
	if (ao->port) {
		if (authorize_number("port", ao->port, 1, 65535, &v) < 0)
			return -1;
		o->redirect_port = (int)v;
	}
	if (ao->timeout) {
		if (authorize_number("timeout", ao->timeout, 1, 86400, &v) < 0)
			return -1;
		o->timeout = v;
	}
	return 0;
}

/* Starts xdg-open on url when a display exists; never waits for it. */
static void authorize_open_browser(const char *url)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = {(char *)"xdg-open", (char *)url, NULL};
	pid_t pid;

	if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY"))
		return;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ) == 0)
		fprintf(stderr, "oauthtop: opened the URL with xdg-open\n");
	posix_spawn_file_actions_destroy(&fa);
}

static void authorize_show_device(const ot_account *a, const ot_auth_info *i, bool qr, int64_t now)
{
	printf("To authorize %s, open\n\n    %s\n\nand enter the code\n\n    %s\n\n", a->name,
	       i->verification_uri, i->user_code);
	if (i->verification_uri_complete) {
		printf("or open directly:\n\n    %s\n\n", i->verification_uri_complete);
		if (qr && ot_qr_print(stdout, i->verification_uri_complete) == 0)
			putchar('\n');
	}
	printf("The code expires in %lld s. Waiting for approval (Ctrl-C to give up)...\n",
	       (long long)(i->expires_at - now));
	fflush(stdout);
}

static void authorize_show_code(const ot_account *a, const ot_auth_info *i, bool browser,
                                int64_t now)
{
	printf("To authorize %s, open this URL in a browser on this machine:\n\n    %s\n\n",
	       a->name, i->authorization_url);
	printf("Waiting up to %lld s for the redirect to %s (Ctrl-C to give up)...\n",
	       (long long)(i->deadline - now), i->redirect_uri);
	fflush(stdout);
	if (browser)
		authorize_open_browser(i->authorization_url);
}

/* Progress worth a line: anything but the routine "waiting for approval" refresh. */
static void authorize_progress(const ot_auth_info *i, char *last, size_t n)
{
	if (strncmp(i->message, "waiting for approval", 20) == 0 || strcmp(i->message, last) == 0)
		return;
	snprintf(last, n, "%s", i->message);
	if (!ot_auth_final(i->state) && i->state != OT_AUTH_STARTING)
		fprintf(stderr, "oauthtop: %s\n", i->message);
}

/* Runs the flow until it ends; returns the final state. */
static ot_auth_state authorize_run(ot_auth *x, const ot_account *a, const authorize_opts *ao)
{
	ot_auth_info info;
	ot_auth_state st = OT_AUTH_STARTING;
	bool shown = false;
	char last[512] = "";

	while (!authorize_interrupted) {
		int64_t now = ot_cli_now();
		st = ot_auth_step(x, now);
		ot_auth_get_info(x, &info);
		if (!shown && st == OT_AUTH_WAITING) {
			if (info.flow == OT_FLOW_DEVICE)
				authorize_show_device(a, &info, !ao->no_qr, now);
			else
				authorize_show_code(a, &info, !ao->no_browser, now);
			shown = true;
			snprintf(last, sizeof(last), "%s", info.message);
		}
		authorize_progress(&info, last, sizeof(last));
		if (ot_auth_final(st))
			break;
		ot_auth_wait(x, NULL, 0, (int)ot_auth_timeout_ms(x, ot_cli_now()));
	}
	return st;
}

/* Stores the result, waiting a little for a keeper that holds the account's lease. */
static int authorize_store(ot_cli *cli, ot_auth *x, const ot_account *a)
{
	char actor[320];
	ot_err err = {{0}};
	ot_auth_info info;
	int rc = 1;

	snprintf(actor, sizeof(actor), "authorize@%s:%lld", cli->host, (long long)cli->holder.pid);
	for (int tries = 0; tries < 20 && rc == 1; tries++) {
		rc = ot_auth_store(x, cli->store, &cli->holder, actor, ot_cli_now(), &err);
		if (rc == 1) {
			struct timespec ts = {0, 500 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (rc != 0) {
		ot_cli_error("authorize: %s: the new grant could not be stored: %s", a->name,
		             rc < 0 ? err.msg : "another keeper holds the account");
		return OT_EXIT_USAGE;
	}
	ot_auth_get_info(x, &info);
	printf("%s: authorized\n", a->name);
	if (info.no_refresh_token)
		fprintf(stderr,
		        "oauthtop: warning: %s: the provider gave no refresh token; the account "
		        "needs `oauthtop authorize %s` again when the access token expires%s\n",
		        a->name, a->name,
		        info.scope && strstr(info.scope, "offline_access")
		                ? ""
		                : " (try --scope with offline_access)");
	return OT_EXIT_OK;
}

static int authorize_exit(ot_auth_state st, const char *code)
{
	if (st == OT_AUTH_DONE)
		return OT_EXIT_OK;
	if (st == OT_AUTH_DENIED || st == OT_AUTH_EXPIRED)
		return OT_EXIT_REAUTH;
	if (strcmp(code, "invalid_client") == 0 || strcmp(code, "unauthorized_client") == 0 ||
	    strcmp(code, "unsupported_grant_type") == 0)
		return OT_EXIT_USAGE;
	return OT_EXIT_WARN;
}

static int authorize_account(ot_cli *cli, const ot_account *a, const authorize_opts *ao)
{
	ot_auth_opts o;
	ot_err err = {{0}};
	ot_auth *x;
	ot_auth_info info;
	ot_auth_state st;
	int rc;
	struct sigaction sa, old_int, old_term;

	if (authorize_build_opts(ao, &o) < 0)
		return OT_EXIT_USAGE;
	if (ot_discovery_apply(cli->cfg, a->provider->name, cli->store, ot_cli_now(), 0, &err) <
	    0) {
		ot_cli_error("authorize: %s", err.msg);
		return OT_EXIT_USAGE;
	}
	x = ot_auth_start(a, ot_config_settings(cli->cfg), &o, ot_cli_now(), &err);
	if (!x) {
		ot_cli_error("authorize: %s: %s", a->name, err.msg);
		return OT_EXIT_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = authorize_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	st = authorize_run(x, a, ao);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	ot_auth_get_info(x, &info);
	if (authorize_interrupted) {
		ot_cli_error("authorize: %s: interrupted; nothing stored", a->name);
		rc = OT_EXIT_WARN;
	} else if (st == OT_AUTH_DONE) {
		rc = authorize_store(cli, x, a);
	} else {
		ot_cli_error("authorize: %s: %s", a->name, info.message);
		rc = authorize_exit(st, info.error_code);
	}
	ot_auth_free(x);
	return rc;
}

/* Dispatched by main.c; cli.h has no prototype for it yet. */
int ot_cmd_authorize(ot_cli *cli, int argc, char **argv);

int ot_cmd_authorize(ot_cli *cli, int argc, char **argv)
{
	authorize_opts ao = {0};
	const ot_opt opts[] = {
	        {"device", 0, &ao.device, NULL},
	        {"code", 0, &ao.code, NULL},
	        {"no-browser", 0, &ao.no_browser, NULL},
	        {"no-qr", 0, &ao.no_qr, NULL},
	        {"port", 1, NULL, &ao.port},
	        {"timeout", 1, NULL, &ao.timeout},
	        {"scope", 1, NULL, &ao.scope},
	        {NULL, 0, NULL, NULL},
	};
	const char *pos[1];
	bool help = false;
	int npos;
	const ot_account *a;

	if (ot_cli_parse("authorize", argc, argv, opts, pos, 1, &npos, &help) < 0)
		return OT_EXIT_USAGE;
	if (help) {
		fputs(authorize_help, stdout);
		return OT_EXIT_OK;
	}
	if (npos < 1) {
		ot_cli_error("authorize: which account? (usage: oauthtop authorize ACCOUNT)");
		return OT_EXIT_USAGE;
	}
	if (ot_cli_load(cli) < 0 || !(a = ot_cli_account(cli, pos[0])))
		return OT_EXIT_USAGE;
	if (ot_cli_open_store(cli, false) < 0)
		return OT_EXIT_USAGE;
	return authorize_account(cli, a, &ao);
}
