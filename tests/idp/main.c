/* main.c - oauthtop-idp: command line, listeners, port files, clean shutdown on a signal.
 * The test token server of the end-to-end tests, the demo and the benchmarks; see README.md. */
#include "idp.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct idp_opts {
	int port;
	const char *port_file, *admin_port_file;
	const char *cert_file, *key_file;
	const char *log_file;
	int threads;
	int quiet;
} idp_opts;

static void usage(FILE *f)
{
	fputs("usage: oauthtop-idp [--port N] [--port-file F] [--admin-port-file F]\n"
	      "         [--tls-cert F --tls-key F] [--client ID:SECRET]... [--public-client "
	      "ID]...\n"
	      "         [--rotation on|off] [--reuse strict|allow] [--grace S]\n"
	      "         [--same-access-token] [--expires-in N] [--refresh-expires-in N]\n"
	      "         [--token-bytes N] [--latency-ms N] [--require-accept-json]\n"
	      "         [--threads N] [--log F] [--quiet]\n"
	      "A test OAuth 2.0 token server on 127.0.0.1; see tests/idp/README.md.\n",
	      f);
}

static int parse_num(const char *s, long lo, long hi, long *out)
{
	char *end = NULL;
	errno = 0;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_client(idp_server *srv, const char *arg)
{
	const char *colon = strchr(arg, ':');
	if (!colon || colon == arg)
		return -1;
	char *id = idp_xstrndup(arg, (size_t)(colon - arg));
	idp_client_add(srv, id, colon + 1);
	free(id);
	return 0;
}

/* Handles one option with a value; 0 ok, -1 bad value, 1 unknown option. */
static int parse_valued(idp_server *srv, idp_opts *o, const char *opt, const char *v)
{
	idp_config *c = &srv->cfg0;
	long n = 0;
	if (!strcmp(opt, "--port"))
		return parse_num(v, 0, 65535, &n) ? -1 : (o->port = (int)n, 0);
	if (!strcmp(opt, "--threads"))
		return parse_num(v, 1, 64, &n) ? -1 : (o->threads = (int)n, 0);
	if (!strcmp(opt, "--grace"))
		return parse_num(v, 0, 1L << 40, &c->grace);
	if (!strcmp(opt, "--expires-in"))
		return parse_num(v, 0, 1L << 40, &c->expires_in);
	if (!strcmp(opt, "--refresh-expires-in"))
		return parse_num(v, 0, 1L << 40, &c->refresh_expires_in);
	if (!strcmp(opt, "--token-bytes"))
		return parse_num(v, 0, 65536, &c->token_bytes);
	if (!strcmp(opt, "--latency-ms"))
		return parse_num(v, 0, 1L << 40, &c->latency_ms);
	if (!strcmp(opt, "--rotation")) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return -1;
		c->rotation = !strcmp(v, "on");
		return 0;
	}
	if (!strcmp(opt, "--reuse")) {
		if (strcmp(v, "strict") && strcmp(v, "allow"))
			return -1;
		c->reuse_strict = !strcmp(v, "strict");
		return 0;
	}
	if (!strcmp(opt, "--client"))
		return parse_client(srv, v);
	if (!strcmp(opt, "--public-client")) {
		if (!*v)
			return -1;
		idp_client_add(srv, v, NULL);
		return 0;
	}
	const char **dst = !strcmp(opt, "--port-file")         ? &o->port_file
	                   : !strcmp(opt, "--admin-port-file") ? &o->admin_port_file
	                   : !strcmp(opt, "--tls-cert")        ? &o->cert_file
	                   : !strcmp(opt, "--tls-key")         ? &o->key_file
	                   : !strcmp(opt, "--log")             ? &o->log_file
	                                                       : NULL;
	if (!dst)
		return 1;
	*dst = v;
	return 0;
}

static int parse_args(idp_server *srv, idp_opts *o, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *eq = strchr(a, '=');
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(a, "--same-access-token")) {
			srv->cfg0.same_access_token = 1;
			continue;
		}
		if (!strcmp(a, "--require-accept-json")) {
			srv->cfg0.require_accept_json = 1;
			continue;
		}
		if (!strcmp(a, "--quiet")) {
			o->quiet = 1;
			continue;
		}
		char *opt = eq ? idp_xstrndup(a, (size_t)(eq - a)) : idp_xstrdup(a);
		const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		int rc = v ? parse_valued(srv, o, opt, v) : 1;
		if (rc != 0)
			fprintf(stderr, "oauthtop-idp: %s %s\n",
			        rc > 0 ? "unknown option or missing value:" : "bad value for", opt);
		free(opt);
		if (rc != 0)
			return -1;
	}
	if (!o->cert_file != !o->key_file) {
		fputs("oauthtop-idp: --tls-cert and --tls-key go together\n", stderr);
		return -1;
	}
	return 0;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	idp_buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		idp_buf_add(&b, chunk, n);
	fclose(f);
	if (!b.data)
		idp_buf_adds(&b, "");
	return b.data;
}

static int write_port_file(const char *path, int port)
{
	char *tmp = idp_xprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	int ok = f && fprintf(f, "%d\n", port) > 0;
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		fprintf(stderr, "oauthtop-idp: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static unsigned raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1000;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	rlim_t lim = rl.rlim_cur > 64 ? rl.rlim_cur - 64 : 16;
	return lim > 1000000 ? 1000000 : (unsigned)lim;
}

typedef struct idp_run {
	void *main_d, *admin_d;
	char *cert, *key;
} idp_run;

static int start_listeners(idp_server *srv, const idp_opts *o, idp_run *run)
{
	idp_listen l = {.port = o->port, .threads = o->threads, .conn_limit = raise_nofile()};
	if (o->cert_file) {
		run->cert = read_file(o->cert_file);
		run->key = read_file(o->key_file);
		if (!run->cert || !run->key) {
			fprintf(stderr, "oauthtop-idp: cannot read %s\n",
			        run->cert ? o->key_file : o->cert_file);
			return -1;
		}
		l.cert_pem = run->cert;
		l.key_pem = run->key;
	}
	srv->tls = o->cert_file != NULL;
	run->main_d = idp_http_start(srv, &l, &srv->port);
	if (!run->main_d) {
		fprintf(stderr, "oauthtop-idp: cannot listen on 127.0.0.1:%d%s\n", o->port,
		        o->cert_file ? " (or bad certificate/key)" : "");
		return -1;
	}
	srv->admin_port = srv->port;
	if (o->cert_file) {
		idp_listen a = {.port = 0, .threads = 1, .admin_only = 1, .conn_limit = 256};
		run->admin_d = idp_http_start(srv, &a, &srv->admin_port);
		if (!run->admin_d) {
			fputs("oauthtop-idp: cannot start the admin listener\n", stderr);
			return -1;
		}
	}
	return 0;
}

static int announce(const idp_server *srv, const idp_opts *o)
{
	if (o->admin_port_file && write_port_file(o->admin_port_file, srv->admin_port) != 0)
		return -1;
	if (o->port_file && write_port_file(o->port_file, srv->port) != 0)
		return -1;
	if (!o->quiet)
		fprintf(stderr,
		        "oauthtop-idp: listening on %s://127.0.0.1:%d (admin "
		        "http://127.0.0.1:%d)\n",
		        srv->tls ? "https" : "http", srv->port, srv->admin_port);
	return 0;
}

static void stop_all(idp_server *srv, idp_run *run)
{
	pthread_mutex_lock(&srv->lock);
	srv->stopping = 1;
	pthread_mutex_unlock(&srv->lock);
	idp_timer_stop();
	idp_http_stop(run->main_d);
	idp_http_stop(run->admin_d);
	free(run->cert);
	free(run->key);
}

int main(int argc, char **argv)
{
	static idp_server srv;
	idp_opts o = {.threads = 1};
	idp_run run = {0};
	idp_server_init(&srv);
	idp_client_add(&srv, "test-client", "test-secret");
	if (parse_args(&srv, &o, argc, argv) != 0) {
		usage(stderr);
		idp_server_free(&srv);
		return 2;
	}
	srv.cfg = srv.cfg0;
	if (o.log_file && !(srv.logf = fopen(o.log_file, "a"))) {
		fprintf(stderr, "oauthtop-idp: cannot open %s: %s\n", o.log_file, strerror(errno));
		idp_server_free(&srv);
		return 1;
	}
	/* a shell starts background jobs with SIGINT ignored: sigwait needs it deliverable */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int rc = 1;
	if (idp_timer_start() == 0 && start_listeners(&srv, &o, &run) == 0 &&
	    announce(&srv, &o) == 0) {
		int sig = 0;
		while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
			;
		rc = 0;
	}
	stop_all(&srv, &run);
	idp_server_free(&srv);
	return rc;
}
