/* hooks.h - state-change hooks (DESIGN §5 `hooks`): a command run when an account enters
 * reauth, enters failing, or recovers.
 *
 * The command runs via /bin/sh -c in its own process group with a clean environment: only
 * PATH=/usr/bin:/bin, HOME, LANG and the OAUTHTOP_* variables below (never a token or a
 * secret); stdin is /dev/null, stdout goes to stderr, no other descriptor is inherited.
 * Nothing here blocks: hooks are started with posix_spawn, reaped with waitpid(WNOHANG) from
 * the caller's loop (ot_hooks_poll), and killed (SIGKILL to the group) past their time limit.
 *
 * Variables: OAUTHTOP_EVENT (reauth|failing|recovered), OAUTHTOP_ACCOUNT, OAUTHTOP_PROVIDER,
 * OAUTHTOP_OLD_STATE, OAUTHTOP_NEW_STATE, OAUTHTOP_REASON (one line, may be empty). */
#ifndef OAUTHTOP_HOOKS_H
#define OAUTHTOP_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oauthtop/err.h"
#include "oauthtop/health.h"

typedef enum ot_hook_event {
	OT_HOOK_REAUTH = 0,
	OT_HOOK_FAILING,
	OT_HOOK_RECOVERED,
	OT_HOOK_NONE,
} ot_hook_event;

/* Which hook a change from old_state to new_state fires: entering reauth, entering failing,
 * or leaving reauth/failing for ok (or due: a success that landed inside the window).
 * OT_HOOK_NONE for anything else, including no change. */
ot_hook_event ot_hook_event_for(ot_state old_state, ot_state new_state);

/* "reauth", "failing", "recovered"; "none". */
const char *ot_hook_event_name(ot_hook_event ev);

typedef struct ot_hook_info {
	const char *account;
	const char *provider;
	ot_state old_state;
	ot_state new_state;
	const char *reason; /* NULL: empty */
} ot_hook_info;

/* How a hook ended, reported from ot_hooks_poll(). */
typedef struct ot_hook_done {
	const char *account;
	ot_hook_event event;
	int64_t pid;
	int exit_code;  /* exit status, or -1 when killed by a signal */
	int signal;     /* the signal that ended it, 0 if it exited */
	bool timed_out; /* we killed it at its time limit */
	double seconds;
} ot_hook_done;

typedef void (*ot_hook_done_cb)(const ot_hook_done *d, void *user);

typedef struct ot_hooks_opts {
	const char *reauth; /* commands, NULL or "" for none; copied */
	const char *failing;
	const char *recovered;
	long timeout_ms;         /* 0: 30000 */
	size_t max_running;      /* 0: 64; a hook beyond is not started (-1 from fire) */
	ot_hook_done_cb on_done; /* may be NULL */
	void *user;
} ot_hooks_opts;

typedef struct ot_hooks ot_hooks;

ot_hooks *ot_hooks_new(const ot_hooks_opts *o);

/* Kills (SIGKILL to the group) and reaps every hook still running, then frees. NULL is fine. */
void ot_hooks_free(ot_hooks *h);

/* Replaces the three commands (configuration reload); running hooks are not touched. */
void ot_hooks_set_commands(ot_hooks *h, const char *reauth, const char *failing,
                           const char *recovered);

/* Starts the command configured for ev, without waiting for it. Returns 1 started, 0 no
 * command for ev, -1 with err when it could not be started (too many running, spawn error). */
int ot_hooks_fire(ot_hooks *h, ot_hook_event ev, const ot_hook_info *info, ot_err *err);

/* Reaps finished hooks (each its own pid, WNOHANG; other children are left alone), kills the
 * ones past their time limit, reports each end through on_done. Returns how many still run. */
size_t ot_hooks_poll(ot_hooks *h);

/* Milliseconds until a running hook reaches its time limit (0 if one already has); -1 when
 * none runs. The caller polls at least then (and on SIGCHLD). */
long ot_hooks_timeout_ms(const ot_hooks *h);

size_t ot_hooks_running(const ot_hooks *h);

#endif
