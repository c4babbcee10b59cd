/* console-frame.c - the console at 100,000 accounts: builds a configuration and a store of
 * N accounts (OT_BENCH_ACCOUNTS, default 100000) with realistic 1-2 KB tokens, then, in a
 * fresh process (so that peak memory is the console's alone), measures:
 *   - time to first frame: configuration + store + model + first draw, from nothing;
 *   - redraw: median and p99 of frames where the clock advances one second (countdowns tick,
 *     rows cross the window, the header counts move), and of frames after a key (j, PgDn);
 *   - a filter keystroke, a sort change, and a full re-read of the store (another process
 *     changed it);
 *   - peak memory (ru_maxrss).
 * OT_BENCH_FIRST_ONLY=1 stops after the first frame (to profile the start alone).
 * Targets: first frame < 300 ms, redraw < 2 ms, memory < 100 MB. The console is the real one
 * (model, views, its refresh engine - idle, no request is made); the terminal is 120x40,
 * xterm-256color, written to /dev/null through curses (the real output path). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oauthtop/secret.h"
#include "oauthtop/store.h"
#include "tui/actions.h"
#include "tui/app.h"
#include "tui/paint.h"
#include "tui/tui.h"

#define BATCH      1000
#define FRAMES     600
#define KEY_FRAMES 300

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of this process: a frame's own work, without the waits of a shared machine. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double peak_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static char *token(const char *prefix, size_t len)
{
	static const char abc[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *t = malloc(len + 1);
	size_t n;

	if (!t)
		abort();
	n = (size_t)snprintf(t, len + 1, "%s", prefix);
	for (; n < len; n++)
		t[n] = abc[rnd() % 64];
	t[len] = '\0';
	return t;
}

static int write_config(const char *dir, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cfg.json", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "{ \"store\": \"%s/oauthtop.db\",\n  \"providers\": {\n", dir);
	for (int p = 0; p < 8; p++)
		fprintf(f,
		        "    \"provider-%d\": { \"token_url\": "
		        "\"https://idp%d.example.com/token\", "
		        "\"client_id\": \"client-%d\", \"auth_method\": \"none\" }%s\n",
		        p, p, p, p < 7 ? "," : "");
	fprintf(f, "  },\n  \"accounts\": [\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f,
		        "    { \"name\": \"account-%06zu\", \"provider\": \"provider-%zu\"%s }%s\n",
		        i, i % 8, i % 100 == 99 ? ", \"enabled\": false" : "",
		        i + 1 < n ? "," : "");
	fprintf(f, "  ]\n}\n");
	return fclose(f);
}

/* A spread of states: most ok, some due, expired, failing, reauth; 30% with a declared
 * refresh expiry (some within the week). */
static void fill_cred(ot_credential *c, size_t i, int64_t now)
{
	char name[32];
	uint64_t r = rnd();

	snprintf(name, sizeof(name), "account-%06zu", i);
	ot_credential_set_str(&c->account, name);
	c->access_token = token("eyJhbGciOiJSUzI1NiJ9.", 1000 + (size_t)(r % 1000));
	c->refresh_token = token("rt-", 1000 + (size_t)(r >> 10) % 1000);
	c->has_access_token = c->has_refresh_token = 1;
	ot_fingerprint(c->access_token, c->access_fp);
	ot_fingerprint(c->refresh_token, c->refresh_fp);
	ot_credential_set_str(&c->token_type, "Bearer");
	ot_credential_set_str(&c->scope, "read write");
	c->access_expires_at = now - 600 + (int64_t)(r >> 20) % 8000;
	c->refresh_issued_at = now - 3600;
	if (i % 10 < 3)
		c->refresh_expires_at = now + (int64_t)(r >> 32) % (30 * 86400);
	c->last_attempt_at = c->last_success_at = now - (int64_t)(r >> 40) % 7200;
	c->last_outcome = OT_OUTCOME_OK;
	if (i % 50 == 7) {
		c->last_outcome = OT_OUTCOME_TRANSIENT;
		c->failures = 3;
		c->next_attempt_at = now + 120;
		ot_credential_set_str(&c->last_error, "HTTP 503: temporarily_unavailable");
	} else if (i % 97 == 5) {
		c->last_outcome = OT_OUTCOME_PERMANENT;
		ot_credential_set_str(&c->last_error,
		                      "invalid_grant: Token has been expired or revoked.");
	}
}

static int build_store(const char *dir, size_t n)
{
	char path[512];
	ot_err err = {{0}};
	ot_holder h = {.host = "bench", .pid = (int64_t)getpid()};
	ot_lease *leases = calloc(BATCH, sizeof(ot_lease));
	ot_commit *commits = calloc(BATCH, sizeof(ot_commit));
	ot_credential *creds = calloc(BATCH, sizeof(ot_credential));
	char(*names)[32] = calloc(BATCH, 32);
	int64_t now = (int64_t)time(NULL);
	ot_store *st;

	snprintf(path, sizeof(path), "%s/oauthtop.db", dir);
	st = ot_store_open(path, 0, &err);
	if (!st || !leases || !commits || !creds || !names) {
		fprintf(stderr, "console-frame: %s\n", err.msg);
		return -1;
	}
	for (size_t base = 0; base < n; base += BATCH) {
		size_t k = n - base < BATCH ? n - base : BATCH;
		for (size_t j = 0; j < k; j++) {
			snprintf(names[j], 32, "account-%06zu", base + j);
			leases[j].account = names[j];
		}
		if (ot_store_lease_take(st, &h, leases, k, now, 60, &err) < 0)
			goto fail;
		for (size_t j = 0; j < k; j++) {
			ot_credential_clear(&leases[j].cred);
			fill_cred(&creds[j], base + j, now);
			commits[j].cred = &creds[j];
			commits[j].event = NULL;
			commits[j].keep_lease = false;
		}
		if (ot_store_commit(st, &h, commits, k, NULL, &err) < 0)
			goto fail;
		for (size_t j = 0; j < k; j++)
			ot_credential_clear(&creds[j]);
	}
	ot_store_close(st);
	free(leases);
	free(commits);
	free(creds);
	free(names);
	return 0;
fail:
	fprintf(stderr, "console-frame: %s\n", err.msg);
	ot_store_close(st);
	return -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report_series(const char *what, double *v, size_t n)
{
	qsort(v, n, sizeof(double), cmp_double);
	printf("%-34s median %.3f ms  p99 %.3f ms  max %.3f ms  (%zu frames)\n", what, v[n / 2],
	       v[(n * 99) / 100], v[n - 1], n);
}

/* Frames: wall time in v, CPU time in c. */
static void report_frames(const char *what, double *v, double *c, size_t n)
{
	char label[64];

	report_series(what, v, n);
	snprintf(label, sizeof(label), "  same, CPU time only");
	report_series(label, c, n);
}

/* After many ticks the incremental order and counts must equal a fresh evaluation: states
 * ascending, within a state the access expiry ascending (unknown first), then the name. */
static int check_model(tui_app *app)
{
	size_t n = model_count(app->model), counts[OT_STATE_COUNT] = {0};
	int64_t now = model_now(app->model);
	const ot_settings *s = ot_config_settings(app->cfg);

	for (size_t i = 0; i < n; i++) {
		tui_row *r = model_row(app->model, i), *q = i ? model_row(app->model, i - 1) : NULL;
		ot_credential view;
		ot_health h =
		        ot_health_eval(r->acct, model_cred_view(r, &view), now, s->reauth_warning);
		int64_t a = model_cred(r)->access_expires_at,
		        b = q ? model_cred(q)->access_expires_at : 0;
		if (h.state != (ot_state)r->state) {
			fprintf(stderr, "console-frame: %s is %s, model says %s\n", r->acct->name,
			        ot_state_name(h.state), ot_state_name((ot_state)r->state));
			return -1;
		}
		counts[h.state]++;
		if (q && (q->state > r->state ||
		          (q->state == r->state && ((b && !a) || (a && b && b > a))))) {
			fprintf(stderr, "console-frame: out of order at %zu: %s before %s\n", i,
			        q->acct->name, r->acct->name);
			return -1;
		}
	}
	for (int st = 0; st < OT_STATE_COUNT; st++) {
		if (counts[st] != model_state_count(app->model, (ot_state)st)) {
			fprintf(stderr, "console-frame: %s count %zu, model says %zu\n",
			        ot_state_name((ot_state)st), counts[st],
			        model_state_count(app->model, (ot_state)st));
			return -1;
		}
	}
	return 0;
}

static double last_cpu; /* CPU time of the last frame() */

/* One frame as the loop does it: advance, then draw. Returns wall milliseconds. */
static double frame(tui_app *app, int64_t clock, int key)
{
	double t = now_ms(), c = cpu_ms();

	app_set_clock(app, clock);
	if (key)
		actions_key(app, key);
	app_update(app);
	tui_draw(app);
	last_cpu = cpu_ms() - c;
	return now_ms() - t;
}

static int child(const char *dir)
{
	char cfg[512];
	ot_cli cli;
	tui_app app;
	tui_app_opts o = {NULL, false}; /* the real console: with its refresh engine */
	ot_err err = {{0}};
	FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
	double t0, t_cfg, t_store, t_model, t_first, c0, *v = calloc(FRAMES, sizeof(double));
	double *c = calloc(FRAMES, sizeof(double)), first_peak;
	int64_t clock = (int64_t)time(NULL) * 1000;

	snprintf(cfg, sizeof(cfg), "%s/cfg.json", dir);
	memset(&cli, 0, sizeof(cli));
	memset(&app, 0, sizeof(app));
	cli.config_path = cfg;
	setenv("COLUMNS", "120", 1);
	setenv("LINES", "40", 1);
	t0 = now_ms();
	c0 = cpu_ms();
	if (ot_cli_load(&cli) < 0)
		return 1;
	t_cfg = now_ms();
	if (ot_cli_open_store(&cli, false) < 0)
		return 1;
	t_store = now_ms();
	if (!out || !in || !v || !c || tui_term_open(out, in, "xterm-256color") < 0)
		return 1;
	app_set_clock(&app, clock);
	if (app_open(&app, &cli, &o, &err) < 0) {
		fprintf(stderr, "console-frame: %s\n", err.msg);
		return 1;
	}
	t_model = now_ms();
	tui_draw(&app);
	t_first = now_ms();
	first_peak = peak_mb();
	printf("accounts                           %zu (%d columns x %d lines)\n",
	       model_total(app.model), COLS, LINES);
	printf("time to first frame                %.1f ms  (configuration %.1f, store open %.1f, "
	       "store read + model %.1f, draw %.1f)\n",
	       t_first - t0, t_cfg - t0, t_store - t_cfg, t_model - t_store, t_first - t_model);
	printf("  same, CPU time only              %.1f ms\n", cpu_ms() - c0);
	if (getenv("OT_BENCH_FIRST_ONLY")) /* for profiling the start alone */
		return 0;

	for (int i = 0; i < FRAMES; i++) { /* one second per frame: countdowns, transitions */
		v[i] = frame(&app, clock += 1000, 0);
		c[i] = last_cpu;
	}
	report_frames("redraw, clock +1 s", v, c, FRAMES);
	if (check_model(&app) < 0)
		return 1;
	printf("%-34s order and counts equal a fresh evaluation after %d ticks\n", "check", FRAMES);
	for (int i = 0; i < KEY_FRAMES; i++) {
		v[i] = frame(&app, clock += 20, i % 10 == 9 ? KEY_NPAGE : 'j');
		c[i] = last_cpu;
	}
	report_frames("redraw after a key (j, PgDn)", v, c, KEY_FRAMES);
	for (int i = 0; i < 20; i++) {
		static const int keys[] = {'/', '4', '2', '\n', 27};
		v[i] = frame(&app, clock += 20, keys[i % 5]);
	}
	report_series("filter keystroke (all rows)", v, 20);
	for (int i = 0; i < 14; i++)
		v[i] = frame(&app, clock += 20, 's');
	report_series("sort change (all rows)", v, 14);
	if (check_model(&app) < 0) /* back to the urgency order, filter cleared */
		return 1;
	for (int i = 0; i < 5; i++) {
		double t = now_ms();
		if (model_load(app.model, clock / 1000, &err) < 0)
			return 1;
		tui_draw(&app);
		v[i] = now_ms() - t;
	}
	report_series("store changed: re-read + draw", v, 5);
	printf("peak memory                        %.1f MB at the first frame, %.1f MB at the end "
	       "(ru_maxrss)\n",
	       first_peak, peak_mb());
	tui_term_close();
	app_close(&app);
	ot_cli_close(&cli);
	fclose(out);
	fclose(in);
	free(v);
	free(c);
	return 0;
}

static void remove_dir(const char *dir)
{
	static const char *const files[] = {"cfg.json", "oauthtop.db", "oauthtop.db-wal",
	                                    "oauthtop.db-shm"};
	char path[512];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const char *env = getenv("OT_BENCH_ACCOUNTS");
	size_t n = env ? strtoul(env, NULL, 10) : 100000;
	char dir[] = "/tmp/oauthtop-console-bench.XXXXXX";
	double t;
	pid_t pid;
	int status = 1;

	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return child(argv[2]);
	if (!mkdtemp(dir)) {
		perror("console-frame: mkdtemp");
		return 1;
	}
	t = now_ms();
	if (write_config(dir, n) < 0 || build_store(dir, n) < 0) {
		remove_dir(dir);
		return 1;
	}
	printf("console-frame: built %zu accounts with 1-2 KB tokens in %.1f s\n", n,
	       (now_ms() - t) / 1000);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "--child", dir, (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (getenv("OT_BENCH_KEEP"))
		printf("console-frame: kept %s\n", dir);
	else
		remove_dir(dir);
	return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
