/* http.h - the OAuth HTTP client (DESIGN §3 step 2): token-endpoint requests over a libcurl
 * multi handle, non-blocking, plus a blocking one-shot fetch for the occasional request
 * (revocation, device flow, discovery). Private to src/core; no curl type appears here.
 *
 * Every request: POST application/x-www-form-urlencoded (GET when the form is empty),
 * `Accept: application/json`, no redirects, http/https only, TLS always verified (the
 * provider's ca_file is given to libcurl as CURLOPT_CAINFO; the system CA directory,
 * libcurl's CURLOPT_CAPATH default, stays trusted), connect and total timeouts, answers
 * capped at OT_ANSWER_MAX, Retry-After and X-Rate-Limit-Reset captured, libcurl's proxy
 * variables honoured. Secrets travel only in the body or the Authorization header, both
 * wiped when the request is freed. */
#ifndef OAUTHTOP_CORE_HTTP_H
#define OAUTHTOP_CORE_HTTP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oauthtop/config.h"
#include "oauthtop/err.h"
#include "oauthtop/token.h"

/* A form-encoded body under construction. Values are treated as secrets (wiped). */
typedef struct ot_form {
	char *buf;
	size_t len;
	size_t cap;
} ot_form;

/* Appends key=value, both form-url-encoded (RFC 6749 Appendix B). Aborts on OOM. */
void ot_form_add(ot_form *f, const char *key, const char *value);
/* Wipes and frees the body. */
void ot_form_clear(ot_form *f);

/* What to send. The owned members (authorization, form) are moved into a request by
 * ot_http_start() / ot_http_fetch(); ot_http_spec_clear() wipes whatever is left. */
typedef struct ot_http_spec {
	const char *url;
	const char *ca_file;     /* extra trust anchor, NULL: system CAs only */
	char *authorization;     /* owned "Basic ..." header value or NULL (secret) */
	char *basic_secret;      /* owned copy of the client secret inside authorization, NULL
	                          * none: what ot_http_result's redact also cuts, raw */
	ot_form form;            /* owned POST body; empty: GET */
	int64_t connect_timeout; /* seconds; 0: 10 */
	int64_t total_timeout;   /* seconds; 0: 30 */
} ot_http_spec;

void ot_http_spec_clear(ot_http_spec *s);

/* Adds the provider's client authentication to s: client_secret_basic (default) builds the
 * Authorization header from the form-url-encoded id and secret (RFC 6749 §2.3.1);
 * client_secret_post puts client_id and client_secret in the form; none puts client_id. */
void ot_http_client_auth(const ot_provider *p, ot_http_spec *s);

/* Builds the token request of account a (DESIGN §3 step 2): grant_type refresh_token with
 * refresh_token (or client_credentials), scope only when the account has one, the
 * provider's extra_params, client authentication. Refuses a token URL that fails
 * ot_url_allowed(). s must be zeroed; returns 0 or -1 with err. */
int ot_http_token_spec(const ot_account *a, const char *refresh_token, int64_t connect_timeout,
                       int64_t total_timeout, ot_http_spec *s, ot_err *err);

typedef struct ot_http ot_http;         /* a multi handle + a share handle */
typedef struct ot_http_req ot_http_req; /* one transfer */

/* max_connections bounds the connections open at once (total and per host). */
ot_http *ot_http_new(int max_connections, ot_err *err);
/* Frees h and every request still attached to it (abandoned). NULL is fine. */
void ot_http_free(ot_http *h);

/* Starts a request (takes over s's owned members; s is cleared). user is returned by
 * ot_http_req_user(). NULL with err on failure. */
ot_http_req *ot_http_start(ot_http *h, ot_http_spec *s, void *user, ot_err *err);
/* Drives transfers without blocking; returns the number still running (finished ones
 * wait in ot_http_next_done()). */
int ot_http_perform(ot_http *h);
/* Transfers started and not yet returned by ot_http_next_done() minus those libcurl still
 * runs, as of the last ot_http_perform(): > 0 means finished ones are waiting. */
int ot_http_finished_waiting(const ot_http *h);
/* Returns one finished request (detached from the multi handle), or NULL. */
ot_http_req *ot_http_next_done(ot_http *h);
/* Detaches every finished transfer from the multi handle (their connections go back to the
 * pool for new transfers) and queues them for ot_http_next_done(), which returns them first.
 * Returns how many are queued. */
size_t ot_http_collect(ot_http *h);
/* Walks the queued finished requests: the first with after NULL, else the one after it. */
ot_http_req *ot_http_collected(const ot_http *h, const ot_http_req *after);
/* Wipes and frees a request (finished or not; an unfinished one is aborted). */
void ot_http_req_free(ot_http_req *r);

/* The request's outcome as the classifier's input; pointers valid until the request is
 * freed. */
void ot_http_req_result(const ot_http_req *r, ot_http_result *out);
/* true when the whole request reached the server (so it may have acted on it) and no
 * complete answer came back: a transport error after the body was sent, or a body cut
 * short. */
bool ot_http_req_answer_lost(const ot_http_req *r);
void *ot_http_req_user(const ot_http_req *r);
/* Wall time of the transfer in seconds. */
double ot_http_req_seconds(const ot_http_req *r);

/* Waits at most timeout_ms (bounded by libcurl's own timeout) for network activity or one
 * of the extra descriptors; returns how many extra descriptors are ready (revents set). */
int ot_http_wait(ot_http *h, struct pollfd *extra, unsigned n_extra, int timeout_ms);
/* Milliseconds until libcurl needs ot_http_perform() for its timers; -1 none. */
long ot_http_timeout_ms(ot_http *h);
/* Wakes a concurrent ot_http_wait(). */
void ot_http_wakeup(ot_http *h);

/* Performs one request synchronously (takes over s's owned members). Returns the finished
 * request (free it with ot_http_req_free()), or NULL with err when it could not be set up;
 * network failures are reported through ot_http_req_result(). */
ot_http_req *ot_http_fetch(ot_http_spec *s, ot_err *err);

#endif
