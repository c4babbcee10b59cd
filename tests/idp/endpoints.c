/* endpoints.c - the other endpoints: revocation (RFC 7009), introspection (RFC 7662), a
 * protected resource, metadata (RFC 8414) and the device flow (RFC 8628). */
#include "idp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void log_revoke(idp_server *srv, const idp_request *req, const char *client_id,
                       const char *family, const char *token, const char *outcome,
                       const idp_reply *r)
{
	char fp[IDP_FP_LEN];
	idp_fingerprint(token, fp);
	cJSON *log = cJSON_CreateObject();
	cJSON_AddNumberToObject(log, "t", floor(req->now * 1000) / 1000);
	cJSON_AddStringToObject(log, "path", req->path);
	cJSON_AddStringToObject(log, "grant", "revoke");
	if (client_id)
		cJSON_AddStringToObject(log, "client_id", client_id);
	else
		cJSON_AddNullToObject(log, "client_id");
	if (family)
		cJSON_AddStringToObject(log, "family", family);
	else
		cJSON_AddNullToObject(log, "family");
	cJSON_AddStringToObject(log, "presented", fp);
	cJSON_AddStringToObject(log, "outcome", outcome);
	cJSON_AddNumberToObject(log, "status", r->close ? 0 : r->status);
	idp_log_add(srv, log);
}

/* Revokes what token names; returns its family or NULL. */
static idp_family *revoke_token(idp_server *srv, const char *token)
{
	idp_token *t = token ? idp_map_get(&srv->tokens, token) : NULL;
	if (t) {
		idp_family_revoke(srv, t->fam, "Token has been revoked");
		return t->fam;
	}
	idp_family *fam = token ? idp_map_get(&srv->access, token) : NULL;
	if (fam) {
		idp_map_del(&srv->access, fam->at);
		fam->at_expires = 0;
	}
	return fam;
}

void idp_revoke_handle(idp_server *srv, const idp_request *req, idp_reply *r)
{
	idp_form form = {0};
	char *client_id = NULL;
	const char *method = NULL, *outcome = "invalid_request", *family = NULL;
	pthread_mutex_lock(&srv->lock);
	if (idp_form_request(srv, req, &form, r) != 0)
		goto out;
	int auth = idp_client_auth(srv, req, &form, &client_id, &method);
	const char *token = idp_form_get(&form, "token");
	idp_token *t = token ? idp_map_get(&srv->tokens, token) : NULL;
	family = t ? t->fam->name : NULL;
	idp_rule *rule = auth > 0 ? idp_rule_take(srv, family, client_id, "revoke", 1) : NULL;
	if (auth < 0) {
		idp_reply_error(r, 400, "invalid_request", "more than one client authentication");
	} else if (auth == 0) {
		idp_reply_error(r, 401, "invalid_client", "Client authentication failed");
		idp_reply_header(r, "WWW-Authenticate", "Basic realm=\"oauthtop-idp\"");
		outcome = "invalid_client";
	} else if (rule) {
		rule->sc->build(r, NULL, rule->params, req->now);
		r->delay_ms += idp_param_long(rule->params, "ms", rule->sc->default_ms);
		outcome = "scenario";
	} else if (!token) {
		idp_reply_error(r, 400, "invalid_request", "missing token");
	} else {
		idp_family *fam = revoke_token(srv, token);
		family = fam ? fam->name : NULL;
		idp_reply_body(r, 200, NULL, "", 0);
		outcome = fam ? "revoked" : "unknown_token";
	}
	idp_rule_free(rule);
	r->delay_ms += srv->cfg.latency_ms;
out:
	log_revoke(srv, req, client_id, family, idp_form_get(&form, "token"), outcome, r);
	pthread_mutex_unlock(&srv->lock);
	idp_form_free(&form);
	free(client_id);
}

static cJSON *introspect(idp_server *srv, const char *token, double now)
{
	cJSON *o = cJSON_CreateObject();
	idp_token *t = token ? idp_map_get(&srv->tokens, token) : NULL;
	idp_family *fam = token ? idp_map_get(&srv->access, token) : NULL;
	if (t && t->state == IDP_T_CURRENT && !t->fam->revoked &&
	    (t->expires_at <= 0 || now < t->expires_at)) {
		cJSON_AddTrueToObject(o, "active");
		cJSON_AddStringToObject(o, "token_type", "refresh_token");
		cJSON_AddStringToObject(o, "sub", t->fam->name);
		if (t->expires_at > 0)
			cJSON_AddNumberToObject(o, "exp", floor(t->expires_at));
	} else if (fam && !fam->revoked && now < fam->at_expires) {
		cJSON_AddTrueToObject(o, "active");
		cJSON_AddStringToObject(o, "token_type", "Bearer");
		cJSON_AddStringToObject(o, "sub", fam->name);
		cJSON_AddNumberToObject(o, "exp", floor(fam->at_expires));
		if (fam->last_client_id)
			cJSON_AddStringToObject(o, "client_id", fam->last_client_id);
	} else {
		cJSON_AddFalseToObject(o, "active");
	}
	return o;
}

void idp_introspect_handle(idp_server *srv, const idp_request *req, idp_reply *r)
{
	idp_form form = {0};
	pthread_mutex_lock(&srv->lock);
	srv->st.introspections++;
	if (idp_form_request(srv, req, &form, r) == 0)
		idp_reply_json(r, 200, introspect(srv, idp_form_get(&form, "token"), req->now));
	pthread_mutex_unlock(&srv->lock);
	idp_form_free(&form);
}

void idp_resource_handle(idp_server *srv, const idp_request *req, idp_reply *r)
{
	const char *h = req->authorization;
	const char *token = h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : NULL;
	pthread_mutex_lock(&srv->lock);
	srv->st.resource_requests++;
	idp_family *fam = token ? idp_map_get(&srv->access, token) : NULL;
	if (fam && !fam->revoked && req->now < fam->at_expires) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddTrueToObject(o, "ok");
		cJSON_AddStringToObject(o, "family", fam->name);
		cJSON_AddNumberToObject(o, "expires_in", floor(fam->at_expires - req->now));
		idp_reply_json(r, 200, o);
	} else {
		idp_reply_error(r, 401, "invalid_token", "The access token is invalid or expired");
		idp_reply_header(r, "WWW-Authenticate",
		                 token ? "Bearer error=\"invalid_token\""
		                       : "Bearer realm=\"oauthtop-idp\"");
	}
	pthread_mutex_unlock(&srv->lock);
}

void idp_metadata_handle(idp_server *srv, const idp_request *req, idp_reply *r)
{
	char *base = idp_xprintf("%s://127.0.0.1:%d", req->tls ? "https" : "http", srv->port);
	cJSON *o = cJSON_CreateObject();
	struct {
		const char *key, *path;
	} eps[] = {{"token_endpoint", "/token"},
	           {"revocation_endpoint", "/revoke"},
	           {"introspection_endpoint", "/introspect"},
	           {"device_authorization_endpoint", "/device_authorization"}};
	cJSON_AddStringToObject(o, "issuer", base);
	for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
		char *url = idp_xprintf("%s%s", base, eps[i].path);
		cJSON_AddStringToObject(o, eps[i].key, url);
		free(url);
	}
	const char *grants[] = {"refresh_token", "client_credentials",
	                        "urn:ietf:params:oauth:grant-type:device_code"};
	cJSON_AddItemToObject(o, "grant_types_supported", cJSON_CreateStringArray(grants, 3));
	const char *auths[] = {"client_secret_basic", "client_secret_post", "none"};
	cJSON_AddItemToObject(o, "token_endpoint_auth_methods_supported",
	                      cJSON_CreateStringArray(auths, 3));
	free(base);
	idp_reply_json(r, 200, o);
}

/* ---- device flow ---- */

static const char *device_steps[] = {"authorization_pending", "slow_down", "access_denied",
                                     "expired_token", "ok"};

static int device_step_known(const char *s)
{
	for (size_t i = 0; i < sizeof device_steps / sizeof device_steps[0]; i++)
		if (strcmp(s, device_steps[i]) == 0)
			return 1;
	return 0;
}

const char *idp_device_configure(idp_server *srv, const cJSON *obj)
{
	const cJSON *script = cJSON_GetObjectItemCaseSensitive(obj, "script");
	const cJSON *interval = cJSON_GetObjectItemCaseSensitive(obj, "interval");
	if (script && (!cJSON_IsArray(script) || cJSON_GetArraySize(script) == 0))
		return "script must be a non-empty array";
	for (const cJSON *it = script ? script->child : NULL; it; it = it->next)
		if (!cJSON_IsString(it) || !device_step_known(it->valuestring))
			return "unknown script step";
	if (interval && (!cJSON_IsNumber(interval) || interval->valuedouble < 0))
		return "interval must be a number";
	if (script) {
		cJSON_Delete(srv->dev.script);
		srv->dev.script = cJSON_Duplicate(script, 1);
	}
	if (interval)
		srv->dev.interval = (long)interval->valuedouble;
	srv->dev.step = 0;
	cJSON_Delete(srv->dev.polls);
	srv->dev.polls = NULL;
	return NULL;
}

cJSON *idp_device_json(const idp_server *srv)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "polls",
	                      srv->dev.polls ? cJSON_Duplicate(srv->dev.polls, 1)
	                                     : cJSON_CreateArray());
	cJSON_AddNumberToObject(o, "interval", (double)srv->dev.interval);
	cJSON_AddNumberToObject(o, "step", (double)srv->dev.step);
	return o;
}

void idp_device_authorize(idp_server *srv, const idp_request *req, idp_reply *r)
{
	idp_form form = {0};
	char *client_id = NULL;
	const char *method = NULL;
	pthread_mutex_lock(&srv->lock);
	if (idp_form_request(srv, req, &form, r) != 0)
		goto out;
	if (idp_client_auth(srv, req, &form, &client_id, &method) <= 0) {
		idp_reply_error(r, 401, "invalid_client", "Client authentication failed");
		goto out;
	}
	char code[33], user[10];
	idp_random_hex(code, 32);
	idp_random_hex(user, 8);
	for (char *p = user; *p; p++)
		*p = (char)('A' + (*p % 26));
	memmove(user + 5, user + 4, 5);
	user[4] = '-';
	idp_map_put(&srv->dev.codes, code, (void *)1);
	char *base =
	        idp_xprintf("%s://127.0.0.1:%d/device", req->tls ? "https" : "http", srv->port);
	char *complete = idp_xprintf("%s?user_code=%s", base, user);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "device_code", code);
	cJSON_AddStringToObject(o, "user_code", user);
	cJSON_AddStringToObject(o, "verification_uri", base);
	cJSON_AddStringToObject(o, "verification_uri_complete", complete);
	cJSON_AddNumberToObject(o, "expires_in", 600);
	cJSON_AddNumberToObject(o, "interval", (double)srv->dev.interval);
	idp_reply_json(r, 200, o);
	free(base);
	free(complete);
out:
	pthread_mutex_unlock(&srv->lock);
	idp_form_free(&form);
	free(client_id);
}

static const char *device_next_step(idp_server *srv)
{
	const cJSON *script = srv->dev.script;
	int n = script ? cJSON_GetArraySize(script) : 0;
	if (n == 0)
		return "ok";
	long i = srv->dev.step < n ? srv->dev.step : n - 1;
	srv->dev.step++;
	return cJSON_GetArrayItem(script, (int)i)->valuestring;
}

static void device_issue(idp_server *srv, double now, idp_reply *r)
{
	char *name = idp_xprintf("device-%ld", ++srv->dev.next_code);
	idp_family *fam = idp_family_ensure(srv, name);
	free(name);
	fam->seq++;
	fam->issued++;
	srv->st.successes++;
	idp_success s = {0};
	s.expires_in = idp_family_issue_access(srv, fam, now);
	idp_family_rotate(srv, fam, now);
	s.access_token = fam->at;
	s.refresh_token = fam->cur->value;
	s.refresh_expires_in = srv->cfg.refresh_expires_in;
	idp_success_reply(r, &s);
}

void idp_device_poll(idp_server *srv, const char *device_code, double now, idp_reply *r)
{
	if (!srv->dev.polls)
		srv->dev.polls = cJSON_CreateArray();
	cJSON_AddItemToArray(srv->dev.polls, cJSON_CreateNumber(floor(now * 1000) / 1000));
	void *state = device_code ? idp_map_get(&srv->dev.codes, device_code) : NULL;
	if (!state) {
		idp_reply_error(r, 400, "invalid_grant", "unknown device_code");
		return;
	}
	if (state == (void *)2) {
		idp_reply_error(r, 400, "invalid_grant", "device_code already used");
		return;
	}
	const char *step = device_next_step(srv);
	if (strcmp(step, "ok") == 0) {
		idp_map_put(&srv->dev.codes, device_code, (void *)2);
		device_issue(srv, now, r);
		return;
	}
	if (strcmp(step, "slow_down") == 0)
		srv->dev.interval += 5;
	if (strcmp(step, "access_denied") == 0 || strcmp(step, "expired_token") == 0)
		idp_map_put(&srv->dev.codes, device_code, (void *)2);
	if (strcmp(step, "slow_down") != 0) {
		idp_reply_error(r, 400, step, NULL);
		return;
	}
	/* the new interval travels in the body too */
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", "slow_down");
	cJSON_AddNumberToObject(o, "interval", (double)srv->dev.interval);
	idp_reply_json(r, 400, o);
}
