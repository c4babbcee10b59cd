/* authorize_int.h - what authorize.c (state machine, device flow, storing) and
 * authorize_code.c (code + PKCE on a loopback redirect) share. Private to src/core. */
#ifndef OAUTHTOP_CORE_AUTHORIZE_INT_H
#define OAUTHTOP_CORE_AUTHORIZE_INT_H

#include <stddef.h>

#include "core/http.h"
#include "oauthtop/authorize.h"
#include "oauthtop/token.h"

#define AUTH_MSG_MAX   512
#define AUTH_RBUF_MAX  8192 /* a redirect request larger than this is refused */
#define AUTH_CONN_WAIT 10   /* seconds a browser connection may take to send its request */

struct ot_auth {
	const ot_account *a;
	const ot_settings *s;
	ot_auth_flow flow;
	ot_auth_state state;
	char *scope;
	ot_http *http;
	ot_http_req *req; /* the request in flight, or NULL */
	int64_t req_sent_at;
	char message[AUTH_MSG_MAX];
	char error_code[64];
	/* device flow */
	char *device_code; /* secret */
	char *user_code;
	char *verification_uri;
	char *verification_uri_complete;
	int64_t expires_at;
	int64_t interval;
	int64_t next_poll_at;
	int polls;
	int transient; /* consecutive transient poll failures */
	/* code flow */
	int listen_fd;
	int conn_fd;
	int64_t conn_deadline;
	char rbuf[AUTH_RBUF_MAX];
	size_t rlen;
	char state_param[48];
	char verifier[64]; /* secret until the exchange is done */
	char *authorization_url;
	char redirect_uri[64];
	int64_t deadline;
	int64_t timeout;
	/* result */
	ot_token_answer answer;
	bool have_answer;
	int64_t sent_at;
};

/* Sets the state with a printf-style message (and an OAuth error code, may be NULL). */
void auth_finish(ot_auth *x, ot_auth_state st, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Starts s on the flow's multi handle as the request in flight; FAILED on error. */
void auth_send(ot_auth *x, ot_http_spec *s, int64_t now);

/* Adds the provider's extra_params to f. */
void auth_add_extra(const ot_provider *p, ot_form *f);

/* Takes a successful token answer from v (DONE) or sets the final state a failed one means. */
void auth_take_token(ot_auth *x, ot_verdict *v, const char *what);

/* Code flow: opens the listener and builds the URL (0, or -1 with err); drives the listener;
 * handles the token answer; releases the sockets. */
int code_start(ot_auth *x, const ot_auth_opts *o, int64_t now, ot_err *err);
void code_tick(ot_auth *x, int64_t now);
void code_close(ot_auth *x);

#endif
