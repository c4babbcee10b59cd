/* authorize.h - a new grant for an account: the device authorization grant (RFC 8628) and the
 * authorization code grant with PKCE S256 on a loopback redirect (RFC 7636, RFC 8252).
 *
 * Both are non-blocking state machines driven by the caller's clock: ot_auth_start(), then
 * ot_auth_step(now) whenever ot_auth_wait() returns or ot_auth_timeout_ms() has passed, until
 * the state is final; then ot_auth_store() commits a DONE result as the account's credential.
 * The command line loops on ot_auth_wait(); the console calls ot_auth_step() from its own
 * loop (it never blocks). Polling follows RFC 8628 §3.5: `interval` (default 5 s) between
 * polls, authorization_pending keeps polling, slow_down adds 5 s to every later poll,
 * access_denied and expired_token stop. The loopback listener binds 127.0.0.1 (a random port
 * unless the provider sets redirect_port), checks `state`, serves one redirect, then closes. */
#ifndef OAUTHTOP_AUTHORIZE_H
#define OAUTHTOP_AUTHORIZE_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "oauthtop/config.h"
#include "oauthtop/err.h"
#include "oauthtop/store.h"

typedef enum ot_auth_flow {
	OT_FLOW_AUTO = 0, /* device flow when the provider has device_authorization_url, else
	                     code + PKCE when it has authorization_url */
	OT_FLOW_DEVICE,
	OT_FLOW_CODE,
} ot_auth_flow;

typedef enum ot_auth_state {
	OT_AUTH_STARTING = 0, /* device: the device authorization request is in flight */
	OT_AUTH_WAITING,      /* waiting for the user (polling, or listening for the redirect) */
	OT_AUTH_EXCHANGING,   /* code flow: redirect received, token request in flight */
	OT_AUTH_DONE,         /* tokens received: ot_auth_store() them */
	OT_AUTH_DENIED,       /* the user or the server refused (access_denied) */
	OT_AUTH_EXPIRED,      /* the device code expired, or no redirect came in time */
	OT_AUTH_FAILED,       /* anything else; the message says what */
} ot_auth_state;

typedef struct ot_auth_opts {
	ot_auth_flow flow;
	int64_t timeout;   /* code flow: seconds to wait for the redirect; 0: 300 */
	int redirect_port; /* code flow: 0 the provider's redirect_port, else random */
	const char *scope; /* NULL: the account's scope, else "offline_access" */
} ot_auth_opts;

/* What to show the user. Pointers are owned by the ot_auth and valid until the next
 * ot_auth_step() or ot_auth_free(). */
typedef struct ot_auth_info {
	ot_auth_flow flow; /* the flow in use (never AUTO) */
	ot_auth_state state;
	const char *scope; /* the scope requested */
	/* device flow (WAITING onwards) */
	const char *user_code;
	const char *verification_uri;
	const char *verification_uri_complete; /* NULL when the server gave none */
	int64_t expires_at;                    /* when the device code expires */
	int64_t interval;                      /* current polling interval, seconds */
	int polls;                             /* token requests sent so far */
	/* code flow */
	const char *authorization_url; /* the URL for the browser */
	const char *redirect_uri;      /* http://127.0.0.1:PORT/callback */
	int64_t deadline;              /* when waiting for the redirect gives up */
	/* progress and outcome: one line, never a secret */
	const char *message;
	const char *error_code; /* OAuth error code of a final failure, else "" */
	bool no_refresh_token;  /* DONE, but the answer carried no refresh token */
} ot_auth_info;

typedef struct ot_auth ot_auth;

/* Starts authorizing account a (a refresh_token account whose provider has the endpoints the
 * flow needs; run discovery first for issuer-only providers): sends the device authorization
 * request, or opens the loopback listener and builds the authorization URL. s gives the
 * timeouts. Returns NULL with err when the flow cannot start. a and s must outlive it. */
ot_auth *ot_auth_start(const ot_account *a, const ot_settings *s, const ot_auth_opts *o,
                       int64_t now, ot_err *err);

/* Advances without blocking: network I/O, the listener, polls that are due at now. Returns
 * the state. */
ot_auth_state ot_auth_step(ot_auth *x, int64_t now);

/* true for DONE, DENIED, EXPIRED and FAILED. */
bool ot_auth_final(ot_auth_state s);

/* Milliseconds until ot_auth_step() has something to do at the latest (a poll, a deadline,
 * a request in flight); -1 when the state is final. At most 1000. */
long ot_auth_timeout_ms(const ot_auth *x, int64_t now);

/* Waits at most timeout_ms for the flow's own network activity or one of the caller's extra
 * descriptors (revents filled); returns how many extra descriptors are ready. */
int ot_auth_wait(ot_auth *x, struct pollfd *extra, unsigned n_extra, int timeout_ms);

/* The descriptor the flow waits on (the loopback listener, or the browser's connection), for
 * a caller that polls in its own loop (POLLIN, then ot_auth_step()); -1 when there is none
 * (device flow, or the redirect was served). HTTP requests of the flow run on its own libcurl
 * handle: a caller that does not use ot_auth_wait() steps it every ot_auth_timeout_ms(). */
int ot_auth_fd(const ot_auth *x);

void ot_auth_get_info(const ot_auth *x, ot_auth_info *out);

/* Stores a DONE result as the account's credential (replacing any), under a lease so no
 * keeper races it, with a history event "authorized" by actor. Returns 0 stored, 1 another
 * live keeper holds the account's lease (nothing stored; try again), -1 with err. */
int ot_auth_store(ot_auth *x, ot_store *st, const ot_holder *h, const char *actor, int64_t now,
                  ot_err *err);

/* Closes the listener, abandons requests, wipes codes and tokens. NULL is fine. */
void ot_auth_free(ot_auth *x);

const char *ot_auth_state_name(ot_auth_state s);

#endif
