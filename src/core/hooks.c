/* hooks.c - state-change hooks: spawned without blocking, clean environment, own process
 * group, time-limited, reaped with waitpid(WNOHANG). */
#include "oauthtop/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oauthtop/secret.h"

#define HOOK_DEFAULT_TIMEOUT_MS 30000L
#define HOOK_DEFAULT_MAX        64
#define HOOK_REASON_MAX         400
#define HOOK_ENV_MAX            10

typedef struct hook_child {
	pid_t pid;
	char *account;
	ot_hook_event event;
	int64_t started_ms;
	bool killed;
} hook_child;

struct ot_hooks {
	char *cmd[OT_HOOK_NONE];
	long timeout_ms;
	size_t max_running;
	ot_hook_done_cb on_done;
	void *user;
	hook_child *run;
	size_t n_run;
};

static const char *const hook_event_names[] = {"reauth", "failing", "recovered", "none"};

static int64_t hook_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ot_hook_event ot_hook_event_for(ot_state old_state, ot_state new_state)
{
	bool was_bad = old_state == OT_STATE_REAUTH || old_state == OT_STATE_FAILING;

	if (old_state == new_state)
		return OT_HOOK_NONE;
	if (new_state == OT_STATE_REAUTH)
		return OT_HOOK_REAUTH;
	if (new_state == OT_STATE_FAILING)
		return OT_HOOK_FAILING;
	if (was_bad && (new_state == OT_STATE_OK || new_state == OT_STATE_DUE))
		return OT_HOOK_RECOVERED;
	return OT_HOOK_NONE;
}

const char *ot_hook_event_name(ot_hook_event ev)
{
	return ev <= OT_HOOK_NONE ? hook_event_names[ev] : "none";
}

/* NULL for an empty command, so "configured" is one test. */
static char *hook_cmd_dup(const char *cmd)
{
	return cmd && *cmd ? ot_strdup(cmd) : NULL;
}

void ot_hooks_set_commands(ot_hooks *h, const char *reauth, const char *failing,
                           const char *recovered)
{
	const char *cmds[OT_HOOK_NONE] = {reauth, failing, recovered};

	for (int i = 0; i < OT_HOOK_NONE; i++) {
		free(h->cmd[i]);
		h->cmd[i] = hook_cmd_dup(cmds[i]);
	}
}

ot_hooks *ot_hooks_new(const ot_hooks_opts *o)
{
	ot_hooks *h = calloc(1, sizeof(*h));

	if (!h)
		abort();
	h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : HOOK_DEFAULT_TIMEOUT_MS;
	h->max_running = o->max_running > 0 ? o->max_running : HOOK_DEFAULT_MAX;
	h->on_done = o->on_done;
	h->user = o->user;
	h->run = calloc(h->max_running, sizeof(*h->run));
	if (!h->run)
		abort();
	ot_hooks_set_commands(h, o->reauth, o->failing, o->recovered);
	return h;
}

/* Appends "NAME=value" to env; control characters in value become spaces, value is capped. */
static void hook_env_add(char **env, size_t *n, const char *name, const char *value)
{
	size_t vlen = strnlen(value ? value : "", HOOK_REASON_MAX);
	size_t len = strlen(name) + vlen + 2;
	char *s = malloc(len);
	char *v;

	if (!s)
		abort();
	snprintf(s, len, "%s=%.*s", name, (int)vlen, value ? value : "");
	for (v = s + strlen(name) + 1; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			*v = ' ';
	env[(*n)++] = s;
}

/* The clean environment: nothing of ours is inherited but HOME and LANG. */
static void hook_env_build(char **env, ot_hook_event ev, const ot_hook_info *info)
{
	size_t n = 0;
	const char *home = getenv("HOME"), *lang = getenv("LANG");

	hook_env_add(env, &n, "PATH", "/usr/bin:/bin");
	if (home)
		hook_env_add(env, &n, "HOME", home);
	if (lang)
		hook_env_add(env, &n, "LANG", lang);
	hook_env_add(env, &n, "OAUTHTOP_EVENT", ot_hook_event_name(ev));
	hook_env_add(env, &n, "OAUTHTOP_ACCOUNT", info->account);
	hook_env_add(env, &n, "OAUTHTOP_PROVIDER", info->provider);
	hook_env_add(env, &n, "OAUTHTOP_OLD_STATE", ot_state_name(info->old_state));
	hook_env_add(env, &n, "OAUTHTOP_NEW_STATE", ot_state_name(info->new_state));
	hook_env_add(env, &n, "OAUTHTOP_REASON", info->reason);
	env[n] = NULL;
}

static void hook_env_free(char **env)
{
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
}

/* Child setup: own process group, default signals, nothing blocked; stdin /dev/null, stdout
 * to our stderr, every other descriptor closed. */
static int hook_spawn_setup(posix_spawnattr_t *attr, posix_spawn_file_actions_t *fa)
{
	sigset_t none, all;

	sigemptyset(&none);
	sigfillset(&all);
	if (posix_spawnattr_init(attr) != 0)
		return -1;
	if (posix_spawn_file_actions_init(fa) != 0) {
		posix_spawnattr_destroy(attr);
		return -1;
	}
	if (posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                           POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawnattr_setpgroup(attr, 0) != 0 ||
	    posix_spawnattr_setsigmask(attr, &none) != 0 ||
	    posix_spawnattr_setsigdefault(attr, &all) != 0 ||
	    posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(fa, 2, 1) != 0 ||
	    posix_spawn_file_actions_addclosefrom_np(fa, 3) != 0) {
		posix_spawn_file_actions_destroy(fa);
		posix_spawnattr_destroy(attr);
		return -1;
	}
	return 0;
}

static int hook_spawn(const char *cmd, char **env, pid_t *pid)
{
	posix_spawnattr_t attr;
	posix_spawn_file_actions_t fa;
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL};
	int rc;

	if (hook_spawn_setup(&attr, &fa) < 0)
		return ENOMEM;
	rc = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc;
}

int ot_hooks_fire(ot_hooks *h, ot_hook_event ev, const ot_hook_info *info, ot_err *err)
{
	char *env[HOOK_ENV_MAX];
	hook_child *c;
	pid_t pid;
	int rc;

	if (ev >= OT_HOOK_NONE || !h->cmd[ev])
		return 0;
	if (h->n_run >= h->max_running)
		return ot_err_set(err, "%s hook for %s not run: %zu hooks still running",
		                  ot_hook_event_name(ev), info->account, h->n_run);
	hook_env_build(env, ev, info);
	rc = hook_spawn(h->cmd[ev], env, &pid);
	hook_env_free(env);
	if (rc != 0)
		return ot_err_set(err, "%s hook for %s: cannot start /bin/sh: %s",
		                  ot_hook_event_name(ev), info->account, strerror(rc));
	c = &h->run[h->n_run++];
	c->pid = pid;
	c->account = ot_strdup(info->account);
	c->event = ev;
	c->started_ms = hook_now_ms();
	c->killed = false;
	return 1;
}

static void hook_report(ot_hooks *h, const hook_child *c, int status, int64_t now)
{
	ot_hook_done d = {
	        .account = c->account,
	        .event = c->event,
	        .pid = c->pid,
	        .exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	        .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
	        .timed_out = c->killed,
	        .seconds = (double)(now - c->started_ms) / 1000.0,
	};

	if (h->on_done)
		h->on_done(&d, h->user);
}

/* Removes run[i], keeping the array dense. */
static void hook_drop(ot_hooks *h, size_t i)
{
	free(h->run[i].account);
	h->run[i] = h->run[--h->n_run];
}

static void hook_kill(hook_child *c)
{
	/* The group, so a shell's children die with it; the pid itself if the group is gone. */
	if (kill(-c->pid, SIGKILL) < 0)
		kill(c->pid, SIGKILL);
	c->killed = true;
}

size_t ot_hooks_poll(ot_hooks *h)
{
	int64_t now = hook_now_ms();

	for (size_t i = 0; i < h->n_run;) {
		hook_child *c = &h->run[i];
		int status = 0;
		pid_t r = waitpid(c->pid, &status, WNOHANG);

		if (r == c->pid || (r < 0 && errno == ECHILD)) {
			hook_report(h, c, r == c->pid ? status : 0, now);
			hook_drop(h, i);
			continue;
		}
		if (!c->killed && now - c->started_ms >= h->timeout_ms)
			hook_kill(c);
		i++;
	}
	return h->n_run;
}

long ot_hooks_timeout_ms(const ot_hooks *h)
{
	int64_t now = hook_now_ms();
	long best = -1;

	for (size_t i = 0; i < h->n_run; i++) {
		const hook_child *c = &h->run[i];
		/* Killed but not reaped yet: look again soon (SIGCHLD usually comes first). */
		int64_t left = c->killed ? 50 : c->started_ms + h->timeout_ms - now;
		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = (long)left;
	}
	return best;
}

size_t ot_hooks_running(const ot_hooks *h)
{
	return h->n_run;
}

void ot_hooks_free(ot_hooks *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_run; i++) {
		int status = 0;
		if (!h->run[i].killed)
			hook_kill(&h->run[i]);
		while (waitpid(h->run[i].pid, &status, 0) < 0 && errno == EINTR)
			;
		free(h->run[i].account);
	}
	for (int i = 0; i < OT_HOOK_NONE; i++)
		free(h->cmd[i]);
	free(h->run);
	free(h);
}
