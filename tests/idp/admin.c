/* admin.c - the admin API under /admin/: rules, config, seeding, stats, families, log. */
#include "idp.h"

#include <stdlib.h>
#include <string.h>

static void admin_fail(idp_reply *r, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	idp_reply_json(r, status, o);
}

/* Parses the JSON body; NULL (and r filled) when it is not a JSON object. */
static cJSON *admin_body(const idp_request *req, idp_reply *r)
{
	cJSON *o = req->body_len ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		admin_fail(r, 400, "body must be a JSON object");
		return NULL;
	}
	return o;
}

static void admin_rules_post(idp_server *srv, const idp_request *req, idp_reply *r)
{
	cJSON *body = admin_body(req, r);
	if (!body)
		return;
	const char *err = NULL;
	long id = idp_rule_add(srv, body, &err);
	cJSON_Delete(body);
	if (id < 0) {
		admin_fail(r, 400, err);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)id);
	idp_reply_json(r, 200, o);
}

static void admin_rules(idp_server *srv, const idp_request *req, const char *rest, idp_reply *r)
{
	if (!strcmp(req->method, "POST") && !*rest) {
		admin_rules_post(srv, req, r);
	} else if (!strcmp(req->method, "GET") && !*rest) {
		idp_reply_json(r, 200, idp_rules_json(srv));
	} else if (!strcmp(req->method, "DELETE") && !*rest) {
		idp_rules_clear(srv);
		idp_reply_json(r, 200, cJSON_CreateObject());
	} else if (!strcmp(req->method, "DELETE") && *rest == '/') {
		char *end = NULL;
		long id = strtol(rest + 1, &end, 10);
		if (!end || *end || idp_rule_delete(srv, id) != 0)
			admin_fail(r, 404, "no such rule");
		else
			idp_reply_json(r, 200, cJSON_CreateObject());
	} else {
		admin_fail(r, 405, "method not allowed");
	}
}

static void admin_config(idp_server *srv, const idp_request *req, idp_reply *r)
{
	if (!strcmp(req->method, "POST")) {
		cJSON *body = admin_body(req, r);
		if (!body)
			return;
		const char *bad = idp_config_apply(&srv->cfg, body);
		char *msg = bad ? idp_xprintf("bad config key or value: %s", bad) : NULL;
		cJSON_Delete(body); /* bad points into body */
		if (msg) {
			admin_fail(r, 400, msg);
			free(msg);
			return;
		}
	}
	idp_reply_json(r, 200, idp_config_json(&srv->cfg));
}

static void admin_seed(idp_server *srv, const idp_request *req, idp_reply *r)
{
	cJSON *body = admin_body(req, r);
	if (!body)
		return;
	const cJSON *fam = cJSON_GetObjectItemCaseSensitive(body, "family");
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(body, "refresh_token");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(body, "access_token");
	const cJSON *ain = cJSON_GetObjectItemCaseSensitive(body, "access_expires_in");
	if (!cJSON_IsString(fam) || !fam->valuestring[0] || (rt && !cJSON_IsString(rt)) ||
	    (rt && !rt->valuestring[0]) || (at && !cJSON_IsString(at)) ||
	    (ain && !cJSON_IsNumber(ain))) {
		cJSON_Delete(body);
		admin_fail(r, 400,
		           "need family (string), optional refresh_token, access_token, "
		           "access_expires_in");
		return;
	}
	char *value = rt ? idp_xstrdup(rt->valuestring) : idp_xprintf("seed-%s", fam->valuestring);
	idp_family *f = idp_family_seed(srv, fam->valuestring, value, req->now);
	free(value);
	if (at && at->valuestring[0]) {
		if (f->at)
			idp_map_del(&srv->access, f->at);
		free(f->at);
		f->at = idp_xstrdup(at->valuestring);
		f->at_expires = req->now + (ain ? ain->valuedouble : (double)srv->cfg.expires_in);
		idp_map_put(&srv->access, f->at, f);
	}
	cJSON_Delete(body);
	idp_reply_json(r, 200, idp_family_json(f, 0));
}

static void admin_revoke(idp_server *srv, const idp_request *req, idp_reply *r)
{
	cJSON *body = admin_body(req, r);
	if (!body)
		return;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "family");
	idp_family *f = cJSON_IsString(name) ? idp_family_get(srv, name->valuestring) : NULL;
	cJSON_Delete(body);
	if (!f) {
		admin_fail(r, 404, "no such family");
		return;
	}
	idp_family_revoke(srv, f, "Token has been revoked");
	idp_reply_json(r, 200, idp_family_json(f, 0));
}

static void add_brief(const char *key, void *value, void *arg)
{
	cJSON_AddItemToObject(arg, key, idp_family_json(value, 1));
}

static void admin_log(idp_server *srv, const idp_request *req, idp_reply *r)
{
	const char *since = idp_form_get(&req->query, "since");
	size_t len = 0;
	char *text = idp_log_dump(srv, since ? strtol(since, NULL, 10) : 0, &len);
	idp_reply_body(r, 200, "application/x-ndjson", text, len);
	free(text);
}

static void admin_device(idp_server *srv, const idp_request *req, idp_reply *r)
{
	if (!strcmp(req->method, "POST")) {
		cJSON *body = admin_body(req, r);
		if (!body)
			return;
		const char *err = idp_device_configure(srv, body);
		cJSON_Delete(body);
		if (err) {
			admin_fail(r, 400, err);
			return;
		}
	}
	idp_reply_json(r, 200, idp_device_json(srv));
}

static int is(const idp_request *req, const char *method, const char *path, const char *want)
{
	return !strcmp(req->method, method) && !strcmp(path, want);
}

static void admin_route(idp_server *srv, const idp_request *req, const char *p, idp_reply *r)
{
	if (!strncmp(p, "rules", 5) && (p[5] == '\0' || p[5] == '/'))
		admin_rules(srv, req, p + 5, r);
	else if (!strcmp(p, "config") &&
	         (!strcmp(req->method, "GET") || !strcmp(req->method, "POST")))
		admin_config(srv, req, r);
	else if (is(req, "GET", p, "stats"))
		idp_reply_json(r, 200, idp_stats_json(srv));
	else if (is(req, "POST", p, "seed"))
		admin_seed(srv, req, r);
	else if (is(req, "POST", p, "revoke"))
		admin_revoke(srv, req, r);
	else if (is(req, "GET", p, "families")) {
		cJSON *o = cJSON_CreateObject();
		idp_map_each(&srv->families, add_brief, o);
		idp_reply_json(r, 200, o);
	} else if (!strcmp(req->method, "GET") && !strncmp(p, "family/", 7)) {
		idp_family *f = idp_family_get(srv, p + 7);
		if (f)
			idp_reply_json(r, 200, idp_family_json(f, 0));
		else
			admin_fail(r, 404, "no such family");
	} else if (is(req, "GET", p, "log"))
		admin_log(srv, req, r);
	else if (is(req, "POST", p, "reset")) {
		idp_server_reset(srv);
		idp_reply_json(r, 200, cJSON_CreateObject());
	} else if (!strcmp(p, "device") &&
	           (!strcmp(req->method, "GET") || !strcmp(req->method, "POST")))
		admin_device(srv, req, r);
	else
		admin_fail(r, 404, "no such admin call");
}

void idp_admin_handle(idp_server *srv, const idp_request *req, idp_reply *r)
{
	pthread_mutex_lock(&srv->lock);
	srv->st.admin_requests++;
	if (req->body_too_large)
		admin_fail(r, 413, "body too large");
	else
		admin_route(srv, req, req->path + strlen("/admin/"), r);
	pthread_mutex_unlock(&srv->lock);
}
