/* test_hooks.c - state-change hooks: which change fires which hook, the clean environment,
 * no inherited descriptors, time limit with SIGKILL to the whole group, exit codes, no
 * blocking. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "oauthtop/hooks.h"

static char dir[64];

typedef struct done_log {
	int n;
	ot_hook_done last;
	char account[64];
} done_log;

static void on_done(const ot_hook_done *d, void *user)
{
	done_log *l = user;

	l->n++;
	l->last = *d;
	snprintf(l->account, sizeof(l->account), "%s", d->account);
	l->last.account = l->account;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls like the daemon's loop until no hook runs; fails after limit seconds. */
static void wait_all(ot_hooks *h, double limit)
{
	double start = mono_now();

	while (ot_hooks_poll(h) > 0) {
		assert_true(mono_now() - start < limit);
		usleep(10000);
	}
}

/* Dead, or a zombie waiting for init to reap it. */
static int pid_gone(long pid)
{
	char path[64], line[256];
	FILE *f;
	int gone = 1;

	if (kill((pid_t)pid, 0) != 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "State:", 6) == 0)
			gone = strchr(line, 'Z') != NULL;
	fclose(f);
	return gone;
}

static char *slurp(const char *name)
{
	char path[128];
	static char buf[8192];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ot-hooks-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_event_for(void **state)
{
	(void)state;
	assert_int_equal(ot_hook_event_for(OT_STATE_OK, OT_STATE_REAUTH), OT_HOOK_REAUTH);
	assert_int_equal(ot_hook_event_for(OT_STATE_FAILING, OT_STATE_REAUTH), OT_HOOK_REAUTH);
	assert_int_equal(ot_hook_event_for(OT_STATE_DUE, OT_STATE_FAILING), OT_HOOK_FAILING);
	assert_int_equal(ot_hook_event_for(OT_STATE_EXPIRED, OT_STATE_FAILING), OT_HOOK_FAILING);
	assert_int_equal(ot_hook_event_for(OT_STATE_FAILING, OT_STATE_OK), OT_HOOK_RECOVERED);
	assert_int_equal(ot_hook_event_for(OT_STATE_REAUTH, OT_STATE_OK), OT_HOOK_RECOVERED);
	assert_int_equal(ot_hook_event_for(OT_STATE_FAILING, OT_STATE_DUE), OT_HOOK_RECOVERED);
	/* no change, or ordinary life of a healthy account: nothing */
	assert_int_equal(ot_hook_event_for(OT_STATE_FAILING, OT_STATE_FAILING), OT_HOOK_NONE);
	assert_int_equal(ot_hook_event_for(OT_STATE_REAUTH, OT_STATE_REAUTH), OT_HOOK_NONE);
	assert_int_equal(ot_hook_event_for(OT_STATE_DUE, OT_STATE_OK), OT_HOOK_NONE);
	assert_int_equal(ot_hook_event_for(OT_STATE_OK, OT_STATE_DUE), OT_HOOK_NONE);
	assert_int_equal(ot_hook_event_for(OT_STATE_EXPIRED, OT_STATE_OK), OT_HOOK_NONE);
	assert_int_equal(ot_hook_event_for(OT_STATE_REAUTH, OT_STATE_DISABLED), OT_HOOK_NONE);
	assert_string_equal(ot_hook_event_name(OT_HOOK_RECOVERED), "recovered");
}

/* Only PATH, HOME, LANG and OAUTHTOP_* reach the hook; nothing else of ours. */
static void test_clean_environment(void **state)
{
	char cmd[256];
	done_log l = {0};
	ot_err err = {{0}};
	ot_hook_info info = {.account = "billing-api",
	                     .provider = "acme",
	                     .old_state = OT_STATE_OK,
	                     .new_state = OT_STATE_REAUTH,
	                     .reason = "invalid_grant: Token is not active\nsecond line"};
	ot_hooks_opts o = {.on_done = on_done, .user = &l};
	ot_hooks *h;
	char *env;

	(void)state;
	setenv("OT_TEST_CLIENT_SECRET", "s3cr3t-do-not-leak", 1);
	setenv("HOME", "/home/keeper", 1);
	setenv("LANG", "C.UTF-8", 1);
	snprintf(cmd, sizeof(cmd), "env > '%s/env.txt'", dir);
	o.reauth = cmd;
	h = ot_hooks_new(&o);
	assert_int_equal(ot_hooks_fire(h, OT_HOOK_REAUTH, &info, &err), 1);
	wait_all(h, 5);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.last.exit_code, 0);
	assert_false(l.last.timed_out);
	assert_string_equal(l.account, "billing-api");
	env = slurp("env.txt");
	assert_non_null(env);
	assert_null(strstr(env, "s3cr3t"));
	assert_null(strstr(env, "OT_TEST_CLIENT_SECRET"));
	assert_non_null(strstr(env, "PATH=/usr/bin:/bin\n"));
	assert_non_null(strstr(env, "HOME=/home/keeper\n"));
	assert_non_null(strstr(env, "LANG=C.UTF-8\n"));
	assert_non_null(strstr(env, "OAUTHTOP_EVENT=reauth\n"));
	assert_non_null(strstr(env, "OAUTHTOP_ACCOUNT=billing-api\n"));
	assert_non_null(strstr(env, "OAUTHTOP_PROVIDER=acme\n"));
	assert_non_null(strstr(env, "OAUTHTOP_OLD_STATE=ok\n"));
	assert_non_null(strstr(env, "OAUTHTOP_NEW_STATE=reauth\n"));
	/* one line: a newline in the reason would split it */
	assert_non_null(strstr(env, "OAUTHTOP_REASON=invalid_grant: Token is not active second"));
	/* every line is one of ours or what the shell adds itself (PWD, SHLVL, _) */
	for (char *line = strtok(env, "\n"); line; line = strtok(NULL, "\n"))
		assert_true(strncmp(line, "OAUTHTOP_", 9) == 0 || strncmp(line, "PATH=", 5) == 0 ||
		            strncmp(line, "HOME=", 5) == 0 || strncmp(line, "LANG=", 5) == 0 ||
		            strncmp(line, "PWD=", 4) == 0 || strncmp(line, "SHLVL=", 6) == 0 ||
		            strncmp(line, "_=", 2) == 0 || strncmp(line, "OLDPWD=", 7) == 0);
	ot_hooks_free(h);
	unsetenv("OT_TEST_CLIENT_SECRET");
}

/* A descriptor we hold (the store, a socket) is not inherited; stdin is /dev/null. */
static void test_no_inherited_fds(void **state)
{
	char cmd[512];
	done_log l = {0};
	ot_err err = {{0}};
	ot_hook_info info = {.account = "a",
	                     .provider = "p",
	                     .old_state = OT_STATE_DUE,
	                     .new_state = OT_STATE_FAILING};
	ot_hooks_opts o = {.on_done = on_done, .user = &l};
	ot_hooks *h;
	int fd = open("/dev/zero", O_RDONLY); /* no O_CLOEXEC on purpose */
	char *out;

	(void)state;
	assert_true(fd > 2);
	snprintf(cmd, sizeof(cmd),
	         "if [ -e /proc/$$/fd/%d ]; then echo leaked; else echo closed; fi > '%s/fd.txt';"
	         " readlink /proc/$$/fd/0 >> '%s/fd.txt'",
	         fd, dir, dir);
	o.failing = cmd;
	h = ot_hooks_new(&o);
	assert_int_equal(ot_hooks_fire(h, OT_HOOK_FAILING, &info, &err), 1);
	wait_all(h, 5);
	out = slurp("fd.txt");
	assert_non_null(out);
	assert_string_equal(out, "closed\n/dev/null\n");
	close(fd);
	ot_hooks_free(h);
}

/* Exit codes are reported; an event without a command runs nothing. */
static void test_exit_code_and_unconfigured(void **state)
{
	done_log l = {0};
	ot_err err = {{0}};
	ot_hook_info info = {.account = "a",
	                     .provider = "p",
	                     .old_state = OT_STATE_FAILING,
	                     .new_state = OT_STATE_OK};
	ot_hooks_opts o = {.recovered = "exit 7", .failing = "", .on_done = on_done, .user = &l};
	ot_hooks *h = ot_hooks_new(&o);

	(void)state;
	assert_int_equal(ot_hooks_fire(h, OT_HOOK_FAILING, &info, &err), 0);
	assert_int_equal(ot_hooks_fire(h, OT_HOOK_REAUTH, &info, &err), 0);
	assert_int_equal(ot_hooks_running(h), 0);
	assert_int_equal(ot_hooks_fire(h, OT_HOOK_RECOVERED, &info, &err), 1);
	wait_all(h, 5);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.last.exit_code, 7);
	assert_int_equal(l.last.event, OT_HOOK_RECOVERED);
	/* reload: new commands apply to the next hook */
	ot_hooks_set_commands(h, NULL, "exit 3", NULL);
	assert_int_equal(ot_hooks_fire(h, OT_HOOK_RECOVERED, &info, &err), 0);
	assert_int_equal(ot_hooks_fire(h, OT_HOOK_FAILING, &info, &err), 1);
	wait_all(h, 5);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.last.exit_code, 3);
	ot_hooks_free(h);
}

/* A hook that never ends is killed at its limit, with its children (the process group);
 * starting it does not wait for it. */
static void test_time_limit_kills_group(void **state)
{
	char cmd[256], path[128];
	done_log l = {0};
	ot_err err = {{0}};
	ot_hook_info info = {.account = "slow",
	                     .provider = "p",
	                     .old_state = OT_STATE_OK,
	                     .new_state = OT_STATE_REAUTH};
	ot_hooks_opts o = {.timeout_ms = 300, .on_done = on_done, .user = &l};
	ot_hooks *h;
	double t0;
	char *pidtxt;
	long child;

	(void)state;
	snprintf(cmd, sizeof(cmd),
	         "sleep 60 & echo $! > '%s/child.tmp'; mv '%s/child.tmp' '%s/child'; wait", dir,
	         dir, dir);
	o.reauth = cmd;
	h = ot_hooks_new(&o);
	t0 = mono_now();
	assert_int_equal(ot_hooks_fire(h, OT_HOOK_REAUTH, &info, &err), 1);
	assert_true(mono_now() - t0 < 1.0); /* fire never waits for the hook */
	assert_int_equal(ot_hooks_running(h), 1);
	assert_true(ot_hooks_timeout_ms(h) <= 300);
	snprintf(path, sizeof(path), "%s/child", dir);
	while (access(path, F_OK) != 0) {
		assert_true(mono_now() - t0 < 5);
		usleep(10000);
	}
	wait_all(h, 10);
	assert_int_equal(l.n, 1);
	assert_true(l.last.timed_out);
	assert_int_equal(l.last.signal, SIGKILL);
	assert_true(l.last.seconds >= 0.3 && l.last.seconds < 5);
	pidtxt = slurp("child");
	assert_non_null(pidtxt);
	child = strtol(pidtxt, NULL, 10);
	assert_true(child > 1);
	/* the shell's child died with the group */
	for (int i = 0; i < 200 && !pid_gone(child); i++)
		usleep(10000);
	assert_true(pid_gone(child));
	assert_int_equal(ot_hooks_timeout_ms(h), -1);
	ot_hooks_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_event_for),
	        cmocka_unit_test(test_clean_environment),
	        cmocka_unit_test(test_no_inherited_fds),
	        cmocka_unit_test(test_exit_code_and_unconfigured),
	        cmocka_unit_test(test_time_limit_kills_group),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
