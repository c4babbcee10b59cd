/* token.c - POST /token: client authentication, the refresh_token and client_credentials
 * grants with rotation, reuse detection and grace, and the scenario rules that reshape them. */
#include "idp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct tok_ctx {
	idp_server *srv;
	const idp_request *req;
	idp_form form;
	char *client_id;
	const char *auth;
	int client_ok;
	const char *grant;
	idp_family *fam;
	idp_token *tok;
	const char *tstate;  /* presented token: seed, current, rotated, unknown */
	const char *outcome; /* for the request log */
	char new_rt[IDP_FP_LEN];
	idp_rule *rule;
} tok_ctx;

static int is_form_type(const char *ct)
{
	static const char want[] = "application/x-www-form-urlencoded";
	if (!ct || strncasecmp(ct, want, sizeof want - 1) != 0)
		return 0;
	char next = ct[sizeof want - 1];
	return next == '\0' || next == ';' || next == ' ';
}

int idp_form_request(idp_server *srv, const idp_request *req, idp_form *form, idp_reply *r)
{
	if (strcmp(req->method, "POST") != 0) {
		idp_reply_error(r, 405, "invalid_request", "method must be POST");
		idp_reply_header(r, "Allow", "POST");
	} else if (req->body_too_large) {
		idp_reply_error(r, 413, "invalid_request", "request body too large");
	} else if (!is_form_type(req->content_type)) {
		idp_reply_error(r, 400, "invalid_request",
		                "content type must be application/x-www-form-urlencoded");
	} else if (idp_form_parse(form, req->body, req->body_len) != 0) {
		idp_reply_error(r, 400, "invalid_request", "malformed form body");
	} else if (form->duplicate) {
		idp_reply_error(r, 400, "invalid_request", "repeated parameter");
	} else {
		return 0;
	}
	srv->st.invalid_request++;
	return -1;
}

static int secret_ok(const idp_client *c, const char *secret)
{
	return c && c->secret && secret && strcmp(c->secret, secret) == 0;
}

int idp_client_auth(idp_server *srv, const idp_request *req, const idp_form *form, char **client_id,
                    const char **method)
{
	char *bid = NULL, *bsec = NULL;
	int basic = idp_basic_parse(req->authorization, &bid, &bsec);
	const char *body_id = idp_form_get(form, "client_id");
	const char *body_sec = idp_form_get(form, "client_secret");
	int rc;
	*client_id = NULL;
	if (basic != 0) {
		*method = "basic";
		if (basic > 0 && (body_sec || (body_id && strcmp(body_id, bid) != 0))) {
			rc = -1; /* two methods at once, or two different ids */
		} else {
			const idp_client *c = basic > 0 ? idp_client_find(srv, bid) : NULL;
			rc = c && (c->secret ? secret_ok(c, bsec) : 1);
		}
		*client_id = bid ? idp_xstrdup(bid) : NULL;
	} else if (body_sec) {
		*method = "post";
		rc = secret_ok(idp_client_find(srv, body_id), body_sec);
		*client_id = body_id ? idp_xstrdup(body_id) : NULL;
	} else {
		*method = "none";
		const idp_client *c = idp_client_find(srv, body_id);
		rc = c && !c->secret;
		*client_id = body_id ? idp_xstrdup(body_id) : NULL;
	}
	free(bid);
	free(bsec);
	return rc;
}

static void reject_client(tok_ctx *c, idp_reply *r)
{
	idp_reply_error(r, 401, "invalid_client", "Client authentication failed");
	idp_reply_header(r, "WWW-Authenticate", "Basic realm=\"oauthtop-idp\"");
	c->outcome = "invalid_client";
}

/* Finds the family of the presented refresh token; an unknown seed-NAME creates family NAME. */
static void resolve_refresh(tok_ctx *c)
{
	const char *rt = idp_form_get(&c->form, "refresh_token");
	if (!rt || !*rt)
		return;
	c->tok = idp_map_get(&c->srv->tokens, rt);
	if (c->tok) {
		c->fam = c->tok->fam;
		c->tstate = c->tok->state == IDP_T_CURRENT ? "current" : "rotated";
		return;
	}
	c->tstate = "unknown";
	if (strncmp(rt, "seed-", 5) != 0 || !rt[5])
		return;
	idp_family *fam = idp_family_get(c->srv, rt + 5);
	if (fam && fam->cur)
		return; /* the family exists with other tokens: a stray seed is just unknown */
	c->fam = idp_family_seed(c->srv, rt + 5, rt, c->req->now);
	c->tok = c->fam->cur;
	c->tstate = "seed";
}

static cJSON *params_masked(const idp_form *form)
{
	static const char *secret[] = {"refresh_token", "client_secret", "code",
	                               "device_code",   "code_verifier", "password"};
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < form->n; i++) {
		const char *v = form->items[i].value;
		char fp[IDP_FP_LEN];
		for (size_t j = 0; j < sizeof secret / sizeof secret[0]; j++) {
			if (strcmp(form->items[i].key, secret[j]) == 0) {
				idp_fingerprint(v, fp);
				v = fp;
				break;
			}
		}
		cJSON_AddStringToObject(o, form->items[i].key, v);
	}
	return o;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? idp_xstrdup(v) : NULL;
}

static void record_family(tok_ctx *c)
{
	idp_family *f = c->fam;
	f->requests++;
	set_str(&f->last_accept, c->req->accept);
	set_str(&f->last_auth, c->auth);
	set_str(&f->last_client_id, c->client_id);
	set_str(&f->last_scope, idp_form_get(&c->form, "scope"));
	cJSON_Delete(f->last_params);
	f->last_params = params_masked(&c->form);
}

static int grant_error(tok_ctx *c, idp_reply *r, const char *outcome, const char *desc)
{
	c->outcome = outcome;
	idp_reply_error(r, 400, "invalid_grant", desc);
	return -1;
}

/* Checks the presented token; 0 when it may be exchanged, else fills r. */
static int refresh_check(tok_ctx *c, idp_reply *r)
{
	idp_server *srv = c->srv;
	idp_family *fam = c->fam;
	double now = c->req->now;
	if (!c->tok)
		return grant_error(c, r, "unknown_token", "Invalid refresh token");
	if (fam->revoked)
		return grant_error(c, r, "revoked",
		                   fam->revoked_reason ? fam->revoked_reason
		                                       : "Token has been revoked");
	if (c->tok->state == IDP_T_CURRENT) {
		if (c->tok->expires_at > 0 && now >= c->tok->expires_at)
			return grant_error(c, r, "expired", "Token is not active");
		c->outcome = "ok";
		return 0;
	}
	fam->double_spend++;
	srv->st.double_spend++;
	if (!srv->cfg.reuse_strict) {
		c->outcome = "reuse_allowed";
		return 0;
	}
	if (srv->cfg.grace > 0 && now - c->tok->rotated_at <= (double)srv->cfg.grace) {
		fam->grace_uses++;
		srv->st.grace_uses++;
		c->outcome = "grace";
		return 0;
	}
	fam->reuse_detected++;
	srv->st.reuse_detected++;
	idp_family_revoke(srv, fam, "refresh token reuse detected");
	return grant_error(c, r, "reuse_detected", "refresh token reuse detected");
}

/* Runs the grant; on success fills s (pointers into the family) and returns 0. */
static int run_grant(tok_ctx *c, int rotate, idp_success *s, idp_reply *r)
{
	idp_server *srv = c->srv;
	double now = c->req->now;
	memset(s, 0, sizeof *s);
	if (strcmp(c->grant, "refresh_token") == 0 && refresh_check(c, r) != 0)
		return -1;
	idp_family *fam = c->fam;
	fam->seq++;
	fam->issued++;
	srv->st.successes++;
	s->expires_in = idp_family_issue_access(srv, fam, now);
	s->access_token = fam->at;
	s->scope = idp_form_get(&c->form, "scope");
	if (!fam->cur)
		return 0; /* client_credentials */
	if (rotate) {
		idp_family_rotate(srv, fam, now);
		idp_fingerprint(fam->cur->value, c->new_rt);
	}
	s->refresh_token = fam->cur->value;
	if (fam->cur->expires_at > 0)
		s->refresh_expires_in = (long)floor(fam->cur->expires_at - now);
	if (s->refresh_expires_in < 0)
		s->refresh_expires_in = 0;
	return 0;
}

static int param_flag(const cJSON *params, const char *key, int dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(params, key);
	return cJSON_IsBool(it) ? cJSON_IsTrue(it) : dflt;
}

/* Answers a request whose client is authenticated and whose grant is supported. */
static void answer_grant(tok_ctx *c, idp_reply *r)
{
	const idp_scenario *sc = c->rule ? c->rule->sc : NULL;
	const cJSON *params = c->rule ? c->rule->params : NULL;
	int rotate = c->srv->cfg.rotation;
	idp_success s;
	if (sc && sc->shape == IDP_SHAPE_ERROR) {
		if (param_flag(params, "rotate", 0) && c->fam) {
			idp_reply scratch;
			idp_reply_init(&scratch);
			run_grant(c, 1, &s, &scratch);
			idp_reply_free(&scratch);
		}
		c->outcome = "scenario";
		sc->build(r, NULL, params, c->req->now);
		return;
	}
	if (sc)
		rotate = param_flag(params, "rotate", sc->shape == IDP_SHAPE_KEEP ? 0 : rotate);
	if (strcmp(c->grant, "refresh_token") == 0 && !idp_form_get(&c->form, "refresh_token")) {
		c->outcome = "invalid_request";
		c->srv->st.invalid_request++;
		idp_reply_error(r, 400, "invalid_request", "missing refresh_token");
		return;
	}
	if (run_grant(c, rotate, &s, r) != 0)
		return;
	if (sc && sc->shape == IDP_SHAPE_KEEP)
		s.refresh_token = NULL;
	if (sc)
		sc->build(r, &s, params, c->req->now);
	else
		idp_success_reply(r, &s);
}

static void count_errors(idp_server *srv, const idp_reply *r)
{
	if (!r->body || r->body_len > 65536 || !r->content_type ||
	    strcmp(r->content_type, "application/json") != 0)
		return;
	cJSON *o = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
	if (cJSON_IsString(e) && strcmp(e->valuestring, "invalid_grant") == 0)
		srv->st.invalid_grant++;
	if (cJSON_IsString(e) && strcmp(e->valuestring, "invalid_client") == 0)
		srv->st.invalid_client++;
	cJSON_Delete(o);
}

static void add_opt(cJSON *o, const char *key, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static void finish(tok_ctx *c, idp_reply *r)
{
	idp_server *srv = c->srv;
	const cJSON *params = c->rule ? c->rule->params : NULL;
	r->delay_ms += srv->cfg.latency_ms;
	if (c->rule) {
		r->delay_ms += idp_param_long(params, "ms", c->rule->sc->default_ms);
		if (param_flag(params, "revoke", 0) && c->fam)
			idp_family_revoke(srv, c->fam, "Token has been revoked");
	}
	const char *accept = c->req->accept;
	if (srv->cfg.require_accept_json && (!accept || !strstr(accept, "application/json")))
		idp_reply_to_form(r);
	count_errors(srv, r);
	cJSON *log = cJSON_CreateObject();
	cJSON_AddNumberToObject(log, "t", floor(c->req->now * 1000) / 1000);
	cJSON_AddStringToObject(log, "path", c->req->path);
	add_opt(log, "grant", c->grant);
	add_opt(log, "client_id", c->client_id);
	add_opt(log, "auth", c->auth);
	add_opt(log, "accept", accept);
	add_opt(log, "family", c->fam ? c->fam->name : NULL);
	char fp[IDP_FP_LEN];
	idp_fingerprint(idp_form_get(&c->form, "refresh_token"), fp);
	add_opt(log, "presented", fp);
	add_opt(log, "presented_state", c->tstate);
	add_opt(log, "outcome", c->outcome ? c->outcome : "invalid_request");
	cJSON_AddNumberToObject(log, "status", r->close ? 0 : r->status);
	add_opt(log, "new_rt", c->new_rt);
	add_opt(log, "scenario", c->rule ? c->rule->sc->name : NULL);
	idp_log_add(srv, log);
}

static int grant_supported(const char *grant)
{
	return grant && (!strcmp(grant, "refresh_token") || !strcmp(grant, "client_credentials"));
}

static void dispatch(tok_ctx *c, idp_reply *r)
{
	idp_server *srv = c->srv;
	const char *acc = c->req->accept;
	if (!acc || !strstr(acc, "application/json"))
		srv->st.accept_json_missing++;
	int auth = idp_client_auth(srv, c->req, &c->form, &c->client_id, &c->auth);
	if (auth < 0) {
		c->outcome = "invalid_request";
		srv->st.invalid_request++;
		idp_reply_error(r, 400, "invalid_request", "more than one client authentication");
		return;
	}
	c->client_ok = auth;
	c->grant = idp_form_get(&c->form, "grant_type");
	if (c->grant && !strcmp(c->grant, "urn:ietf:params:oauth:grant-type:device_code")) {
		srv->st.device_grants++;
		if (!c->client_ok)
			reject_client(c, r);
		else
			idp_device_poll(srv, idp_form_get(&c->form, "device_code"), c->req->now, r);
		c->outcome = c->outcome ? c->outcome : "device";
		return;
	}
	if (c->grant && !strcmp(c->grant, "refresh_token")) {
		srv->st.refresh_grants++;
		resolve_refresh(c);
	} else if (c->grant && !strcmp(c->grant, "client_credentials")) {
		srv->st.client_credentials_grants++;
		if (c->client_ok) {
			char *name = idp_xprintf("client:%s", c->client_id);
			c->fam = idp_family_ensure(srv, name);
			free(name);
		}
	}
	if (c->fam)
		record_family(c);
	c->rule = idp_rule_take(srv, c->fam ? c->fam->name : NULL, c->client_id, c->grant,
	                        c->client_ok);
	if (c->rule && c->rule->sc->shape == IDP_SHAPE_CLIENT) {
		c->outcome = "scenario";
		c->rule->sc->build(r, NULL, c->rule->params, c->req->now);
	} else if (!c->client_ok) {
		reject_client(c, r);
	} else if (!c->grant) {
		c->outcome = "invalid_request";
		srv->st.invalid_request++;
		idp_reply_error(r, 400, "invalid_request", "missing grant_type");
	} else if (!grant_supported(c->grant)) {
		c->outcome = "unsupported_grant_type";
		idp_reply_error(r, 400, "unsupported_grant_type", NULL);
	} else {
		answer_grant(c, r);
	}
}

void idp_token_handle(idp_server *srv, const idp_request *req, idp_reply *r)
{
	tok_ctx c;
	memset(&c, 0, sizeof c);
	c.srv = srv;
	c.req = req;
	pthread_mutex_lock(&srv->lock);
	srv->st.token_requests++;
	if (idp_form_request(srv, req, &c.form, r) == 0)
		dispatch(&c, r);
	else
		c.outcome = "invalid_request";
	finish(&c, r);
	pthread_mutex_unlock(&srv->lock);
	idp_rule_free(c.rule);
	idp_form_free(&c.form);
	free(c.client_id);
}
