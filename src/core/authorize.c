/* authorize.c - the authorization state machine, the device authorization grant (RFC 8628)
 * and storing a new grant. The code + PKCE flow's listener is in authorize_code.c. */
#include "core/authorize_int.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oauthtop/secret.h"

#define DEVICE_GRANT         "urn:ietf:params:oauth:grant-type:device_code"
#define DEVICE_INTERVAL      5   /* RFC 8628 §3.2 default */
#define DEVICE_INTERVAL_MAX  300 /* an interval above this is a server bug */
#define DEVICE_EXPIRES_DFLT  600
#define DEVICE_TRANSIENT_MAX 60 /* cap of the backoff after network failures */

static const char *const state_names[] = {"starting", "waiting", "exchanging", "done",
                                          "denied",   "expired", "failed"};

const char *ot_auth_state_name(ot_auth_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

bool ot_auth_final(ot_auth_state s)
{
	return s == OT_AUTH_DONE || s == OT_AUTH_DENIED || s == OT_AUTH_EXPIRED ||
	       s == OT_AUTH_FAILED;
}

/* ---- shared helpers ----------------------------------------------------------------- */

static void auth_vmessage(ot_auth *x, const char *fmt, va_list ap)
{
	vsnprintf(x->message, sizeof(x->message), fmt, ap);
}

static void auth_message(ot_auth *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void auth_message(ot_auth *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	auth_vmessage(x, fmt, ap);
	va_end(ap);
}

void auth_finish(ot_auth *x, ot_auth_state st, const char *code, const char *fmt, ...)
{
	va_list ap;

	x->state = st;
	snprintf(x->error_code, sizeof(x->error_code), "%s", code ? code : "");
	va_start(ap, fmt);
	auth_vmessage(x, fmt, ap);
	va_end(ap);
	/* The verifier and the device code are useless now: wipe them. */
	ot_wipe(x->verifier, sizeof(x->verifier));
	if (ot_auth_final(st) && x->device_code) {
		ot_secret_free(x->device_code);
		x->device_code = NULL;
	}
}

void auth_send(ot_auth *x, ot_http_spec *s, int64_t now)
{
	ot_err err = {{0}};

	s->ca_file = x->a->provider->ca_file;
	s->connect_timeout = x->s->connect_timeout;
	s->total_timeout = x->s->total_timeout;
	x->req = ot_http_start(x->http, s, x, &err);
	ot_http_spec_clear(s);
	if (!x->req) {
		auth_finish(x, OT_AUTH_FAILED, NULL, "cannot send the request: %s", err.msg);
		return;
	}
	x->req_sent_at = now;
}

void auth_add_extra(const ot_provider *p, ot_form *f)
{
	for (size_t i = 0; i < p->n_extra_params; i++)
		ot_form_add(f, p->extra_params[i].key, p->extra_params[i].value);
}

void auth_take_token(ot_auth *x, ot_verdict *v, const char *what)
{
	const char *code = v->error_code;

	if (v->outcome == OT_OUTCOME_OK) {
		x->answer = v->answer;
		memset(&v->answer, 0, sizeof(v->answer));
		x->have_answer = true;
		x->sent_at = x->req_sent_at;
		auth_finish(x, OT_AUTH_DONE, NULL, "authorized%s",
		            x->answer.refresh_token ? ""
		                                    : " (no refresh token in the answer: the "
		                                      "account needs authorizing again when the "
		                                      "access token expires)");
	} else if (strcmp(code, "access_denied") == 0) {
		auth_finish(x, OT_AUTH_DENIED, code, "access denied: %s", v->reason);
	} else if (v->outcome == OT_OUTCOME_CLIENT) {
		auth_finish(x, OT_AUTH_FAILED, code,
		            "client rejected: %s (fix client_id/client_secret of provider %s)",
		            v->reason, x->a->provider->name);
	} else {
		auth_finish(x, OT_AUTH_FAILED, code, "%s failed: %s", what, v->reason);
	}
}

/* ---- device flow -------------------------------------------------------------------- */

/* A number or a numeric string (some servers send "1800"); def when absent or unusable. */
static int64_t device_number(const cJSON *o, const char *name, int64_t def, int64_t lo, int64_t hi)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	double d;
	char *end = NULL;

	if (cJSON_IsNumber(v))
		d = v->valuedouble;
	else if (cJSON_IsString(v) && v->valuestring[0])
		d = strtod(v->valuestring, &end);
	else
		return def;
	if (end && *end)
		return def;
	if (!(d >= (double)lo))
		return lo;
	return d > (double)hi ? hi : (int64_t)d;
}

static char *device_string(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) && v->valuestring[0] ? ot_strdup(v->valuestring) : NULL;
}

static void device_send_authorization(ot_auth *x, int64_t now)
{
	const ot_provider *p = x->a->provider;
	ot_http_spec s = {0};

	s.url = p->device_authorization_url;
	ot_form_add(&s.form, "scope", x->scope);
	auth_add_extra(p, &s.form);
	ot_http_client_auth(p, &s);
	auth_send(x, &s, now);
	if (x->state == OT_AUTH_STARTING)
		auth_message(x, "requesting a device code from %s", p->device_authorization_url);
}

/* An answer that is not a device authorization: say why, through the token classifier. */
static void device_refused(ot_auth *x, const ot_http_result *r, int64_t now, const char *missing)
{
	ot_verdict v;

	ot_token_classify(r, now, &v);
	if (v.outcome == OT_OUTCOME_CLIENT)
		auth_finish(x, OT_AUTH_FAILED, v.error_code,
		            "client rejected: %s (fix client_id/client_secret of provider %s)",
		            v.reason, x->a->provider->name);
	else if (v.error_code[0] || r->transport_error || r->status != 200)
		auth_finish(x, OT_AUTH_FAILED, v.error_code, "device authorization failed: %s",
		            v.reason[0] ? v.reason : "no usable answer");
	else
		auth_finish(x, OT_AUTH_FAILED, NULL,
		            "device authorization failed: the answer has no %s", missing);
	ot_token_answer_free(&v.answer);
}

static void device_on_authorization(ot_auth *x, const ot_http_result *r, int64_t now)
{
	cJSON *o = NULL;
	const char *missing = "JSON object";

	if (!r->transport_error && r->status == 200)
		o = cJSON_ParseWithLength(r->body, r->body_len);
	if (cJSON_IsObject(o)) {
		x->device_code = device_string(o, "device_code");
		x->user_code = device_string(o, "user_code");
		x->verification_uri = device_string(o, "verification_uri");
		if (!x->verification_uri) /* Google's earlier name */
			x->verification_uri = device_string(o, "verification_url");
		x->verification_uri_complete = device_string(o, "verification_uri_complete");
		x->interval = device_number(o, "interval", DEVICE_INTERVAL, 1, DEVICE_INTERVAL_MAX);
		x->expires_at = now + device_number(o, "expires_in", DEVICE_EXPIRES_DFLT, 1, 86400);
		missing = !x->device_code        ? "device_code"
		          : !x->user_code        ? "user_code"
		          : !x->verification_uri ? "verification_uri"
		                                 : NULL;
	}
	cJSON_Delete(o);
	if (missing) {
		device_refused(x, r, now, missing);
		return;
	}
	if (x->verification_uri_complete && !ot_url_allowed(x->verification_uri_complete)) {
		free(x->verification_uri_complete);
		x->verification_uri_complete = NULL;
	}
	x->state = OT_AUTH_WAITING;
	x->next_poll_at = now + x->interval + 1; /* whole seconds: see device_schedule() */
	auth_message(x, "waiting for approval of code %s (expires in %lld s)", x->user_code,
	             (long long)(x->expires_at - now));
}

/* Times here are whole seconds: "now" may be late in its second, and a poll at next_poll_at
 * fires early in its. One second more keeps every gap at least the interval (RFC 8628 §3.5:
 * the client MUST wait that long; a shorter gap earns another slow_down). */
static void device_schedule(ot_auth *x, int64_t now, int64_t delay)
{
	x->next_poll_at = now + delay + 1;
}

static void device_send_poll(ot_auth *x, int64_t now)
{
	const ot_provider *p = x->a->provider;
	ot_http_spec s = {0};

	s.url = p->token_url;
	ot_form_add(&s.form, "grant_type", DEVICE_GRANT);
	ot_form_add(&s.form, "device_code", x->device_code);
	auth_add_extra(p, &s.form);
	ot_http_client_auth(p, &s);
	x->polls++;
	auth_send(x, &s, now);
}

static void device_on_poll(ot_auth *x, const ot_http_result *r, int64_t now)
{
	ot_verdict v;
	const char *code;

	ot_token_classify(r, now, &v);
	code = v.error_code;
	if (strcmp(code, "authorization_pending") == 0) {
		x->transient = 0;
		device_schedule(x, now, x->interval);
		auth_message(x, "waiting for approval of code %s (expires in %lld s)", x->user_code,
		             (long long)(x->expires_at - now));
	} else if (strcmp(code, "slow_down") == 0) {
		/* RFC 8628 §3.5: +5 s for this and every later poll. */
		x->interval += 5;
		device_schedule(x, now, x->interval);
		auth_message(x, "the server asked to slow down: polling every %lld s",
		             (long long)x->interval);
	} else if (strcmp(code, "expired_token") == 0) {
		auth_finish(x, OT_AUTH_EXPIRED, code,
		            "the code expired before it was approved (expired_token): run "
		            "`oauthtop authorize %s` again",
		            x->a->name);
	} else if (v.outcome == OT_OUTCOME_TRANSIENT) {
		/* §3.5: back off on connection problems, honouring Retry-After. */
		int64_t d = x->interval << (x->transient < 4 ? ++x->transient : 4);
		if (d > DEVICE_TRANSIENT_MAX)
			d = DEVICE_TRANSIENT_MAX;
		if (v.retry_at > now + d)
			d = v.retry_at - now;
		device_schedule(x, now, d);
		auth_message(x, "poll failed (%s): trying again in %lld s", v.reason, (long long)d);
	} else {
		auth_take_token(x, &v, "device authorization");
	}
	ot_token_answer_free(&v.answer);
}

static void device_tick(ot_auth *x, int64_t now)
{
	if (x->state != OT_AUTH_WAITING || x->req)
		return;
	if (now >= x->expires_at) {
		auth_finish(x, OT_AUTH_EXPIRED, "expired_token",
		            "the code expired before it was approved: run `oauthtop authorize %s` "
		            "again",
		            x->a->name);
		return;
	}
	if (now >= x->next_poll_at)
		device_send_poll(x, now);
}

/* ---- the state machine -------------------------------------------------------------- */

static void auth_on_done(ot_auth *x, ot_http_req *r, int64_t now)
{
	ot_http_result res;

	ot_http_req_result(r, &res);
	if (x->state == OT_AUTH_STARTING) {
		device_on_authorization(x, &res, now);
	} else if (x->state == OT_AUTH_WAITING && x->flow == OT_FLOW_DEVICE) {
		device_on_poll(x, &res, now);
	} else if (x->state == OT_AUTH_EXCHANGING) {
		ot_verdict v;
		ot_token_classify(&res, now, &v);
		auth_take_token(x, &v, "the code exchange");
		ot_token_answer_free(&v.answer);
	}
}

static void auth_drive_http(ot_auth *x, int64_t now)
{
	ot_http_req *r;

	if (!x->req)
		return;
	ot_http_perform(x->http);
	while ((r = ot_http_next_done(x->http))) {
		if (r == x->req) {
			x->req = NULL;
			auth_on_done(x, r, now);
		}
		ot_http_req_free(r);
	}
}

ot_auth_state ot_auth_step(ot_auth *x, int64_t now)
{
	if (ot_auth_final(x->state))
		return x->state;
	auth_drive_http(x, now);
	if (ot_auth_final(x->state))
		return x->state;
	if (x->flow == OT_FLOW_DEVICE)
		device_tick(x, now);
	else
		code_tick(x, now);
	return x->state;
}

long ot_auth_timeout_ms(const ot_auth *x, int64_t now)
{
	int64_t ms = 1000;

	if (ot_auth_final(x->state))
		return -1;
	if (x->req || x->conn_fd >= 0)
		return 50;
	if (x->flow == OT_FLOW_DEVICE && x->state == OT_AUTH_WAITING)
		ms = (x->next_poll_at - now) * 1000;
	return ms < 0 ? 0 : ms > 1000 ? 1000 : (long)ms;
}

int ot_auth_wait(ot_auth *x, struct pollfd *extra, unsigned n_extra, int timeout_ms)
{
	struct pollfd fds[16];
	unsigned n = 0, ready = 0;
	int own = ot_auth_fd(x);

	if (own >= 0) {
		fds[n].fd = own;
		fds[n].events = POLLIN;
		fds[n++].revents = 0;
	}
	for (unsigned i = 0; i < n_extra && n < 16; i++)
		fds[n++] = extra[i];
	ot_http_wait(x->http, fds, n, timeout_ms);
	for (unsigned i = own >= 0 ? 1 : 0, j = 0; i < n; i++, j++) {
		extra[j].revents = fds[i].revents;
		if (fds[i].revents)
			ready++;
	}
	return (int)ready;
}

int ot_auth_fd(const ot_auth *x)
{
	return x->conn_fd >= 0 ? x->conn_fd : x->listen_fd;
}

void ot_auth_get_info(const ot_auth *x, ot_auth_info *out)
{
	memset(out, 0, sizeof(*out));
	out->flow = x->flow;
	out->state = x->state;
	out->scope = x->scope;
	out->user_code = x->user_code;
	out->verification_uri = x->verification_uri;
	out->verification_uri_complete = x->verification_uri_complete;
	out->expires_at = x->expires_at;
	out->interval = x->interval;
	out->polls = x->polls;
	out->authorization_url = x->authorization_url;
	out->redirect_uri = x->redirect_uri[0] ? x->redirect_uri : NULL;
	out->deadline = x->deadline;
	out->message = x->message;
	out->error_code = x->error_code;
	out->no_refresh_token = x->have_answer && !x->answer.refresh_token;
}

/* ---- starting and ending ------------------------------------------------------------ */

static ot_auth_flow auth_pick_flow(const ot_provider *p, ot_auth_flow want)
{
	if (want != OT_FLOW_AUTO)
		return want;
	if (p->device_authorization_url)
		return OT_FLOW_DEVICE;
	return p->authorization_url ? OT_FLOW_CODE : OT_FLOW_AUTO;
}

static int auth_check(const ot_account *a, ot_auth_flow flow, ot_err *err)
{
	const ot_provider *p = a->provider;
	const char *url =
	        flow == OT_FLOW_DEVICE ? p->device_authorization_url : p->authorization_url;

	if (a->grant != OT_GRANT_REFRESH_TOKEN)
		return ot_err_set(err,
		                  "%s uses the client_credentials grant: there is nothing to "
		                  "authorize (oauthtop refresh %s gets a new token)",
		                  a->name, a->name);
	if (flow == OT_FLOW_AUTO)
		return ot_err_set(err,
		                  "provider %s has neither device_authorization_url nor "
		                  "authorization_url (nor an issuer whose metadata names them)",
		                  p->name);
	if (!url)
		return ot_err_set(err, "provider %s has no %s", p->name,
		                  flow == OT_FLOW_DEVICE ? "device_authorization_url"
		                                         : "authorization_url");
	if (!p->token_url)
		return ot_err_set(err, "provider %s: no token URL (discovery has not run)",
		                  p->name);
	if (!ot_url_allowed(url) || !ot_url_allowed(p->token_url))
		return ot_err_set(err,
		                  "provider %s: endpoints must be https:// (http:// only to a "
		                  "loopback host)",
		                  p->name);
	return 0;
}

ot_auth *ot_auth_start(const ot_account *a, const ot_settings *s, const ot_auth_opts *o,
                       int64_t now, ot_err *err)
{
	static const ot_auth_opts none = {0};
	ot_auth_flow flow;
	ot_auth *x;

	o = o ? o : &none;
	flow = auth_pick_flow(a->provider, o->flow);
	if (auth_check(a, flow, err) < 0)
		return NULL;
	x = calloc(1, sizeof(*x));
	if (!x) {
		ot_err_set(err, "out of memory");
		return NULL;
	}
	x->a = a;
	x->s = s;
	x->flow = flow;
	x->listen_fd = x->conn_fd = -1;
	x->scope = ot_strdup(o->scope ? o->scope : a->scope ? a->scope : "offline_access");
	x->http = ot_http_new(2, err);
	if (!x->http || (flow == OT_FLOW_CODE && code_start(x, o, now, err) < 0)) {
		ot_auth_free(x);
		return NULL;
	}
	if (flow == OT_FLOW_DEVICE)
		device_send_authorization(x, now);
	if (x->state == OT_AUTH_FAILED) {
		ot_err_set(err, "%s", x->message);
		ot_auth_free(x);
		return NULL;
	}
	return x;
}

void ot_auth_free(ot_auth *x)
{
	if (!x)
		return;
	code_close(x);
	ot_http_req_free(x->req);
	ot_http_free(x->http);
	ot_secret_free(x->device_code);
	free(x->user_code);
	free(x->verification_uri);
	free(x->verification_uri_complete);
	free(x->authorization_url);
	free(x->scope);
	ot_token_answer_free(&x->answer);
	ot_wipe(x, sizeof(*x));
	free(x);
}

/* ---- storing ------------------------------------------------------------------------ */

static int auth_commit(ot_auth *x, ot_store *st, const ot_holder *h, const char *actor,
                       const ot_credential *c, const char *old_fp, int64_t now, ot_err *err)
{
	char reason[200];
	ot_event ev = {0};
	ot_commit cm = {c, &ev, false, NULL};
	size_t skipped = 0;

	snprintf(reason, sizeof(reason), "authorized (%s)%s",
	         x->flow == OT_FLOW_DEVICE ? "device flow" : "code + PKCE",
	         c->has_refresh_token ? ""
	                              : " without a refresh token: reauthorization needed when the "
	                                "access token expires");
	ev.at = now;
	ev.account = c->account;
	ev.kind = (char *)"authorized";
	ev.reason = reason;
	ev.actor = (char *)actor;
	snprintf(ev.old_fp, sizeof(ev.old_fp), "%s", old_fp);
	snprintf(ev.new_fp, sizeof(ev.new_fp), "%s", c->refresh_fp);
	if (ot_store_commit(st, h, &cm, 1, &skipped, err) < 0)
		return -1;
	return skipped ? 1 : 0;
}

int ot_auth_store(ot_auth *x, ot_store *st, const ot_holder *h, const char *actor, int64_t now,
                  ot_err *err)
{
	ot_lease lease = {0};
	ot_credential c = {0};
	int rc;

	if (x->state != OT_AUTH_DONE || !x->have_answer)
		return ot_err_set(err, "nothing to store: the authorization is %s",
		                  ot_auth_state_name(x->state));
	lease.account = x->a->name;
	if (ot_store_lease_take(st, h, &lease, 1, now, 60, err) < 0)
		return -1;
	if (!lease.granted) {
		ot_credential_clear(&lease.cred);
		return 1;
	}
	ot_credential_set_str(&c.account, x->a->name);
	ot_token_apply(&c, &x->answer, x->sent_at, x->a->provider);
	rc = auth_commit(x, st, h, actor, &c, lease.cred.refresh_fp, now, err);
	ot_credential_clear(&c);
	ot_credential_clear(&lease.cred);
	return rc;
}
