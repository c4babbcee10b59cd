/* revoke.c - revocation (RFC 7009), introspection (RFC 7662) and an endpoint probe. */
#include "oauthtop/revoke.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "oauthtop/secret.h"
#include "oauthtop/token.h"

static void revoke_spec_init(ot_http_spec *spec, const ot_provider *p, const ot_settings *s,
                             const char *url)
{
	spec->url = url;
	spec->ca_file = p->ca_file;
	spec->connect_timeout = s->connect_timeout;
	spec->total_timeout = s->total_timeout;
}

static int revoke_check_url(const ot_provider *p, const char *url, const char *key, ot_err *err)
{
	if (!url)
		return ot_err_set(err, "provider %s has no %s", p->name, key);
	if (!ot_url_allowed(url))
		return ot_err_set(err,
		                  "provider %s: %s must be https:// (http:// only to a loopback "
		                  "host)",
		                  p->name, key);
	return 0;
}

/* Posts form (plus client authentication) to url; returns the finished request or NULL. */
static ot_http_req *revoke_post(const ot_provider *p, const ot_settings *s, const char *url,
                                const char *token, const char *hint, ot_err *err)
{
	ot_http_spec spec = {0};

	revoke_spec_init(&spec, p, s, url);
	ot_form_add(&spec.form, "token", token);
	if (hint)
		ot_form_add(&spec.form, "token_type_hint", hint);
	ot_http_client_auth(p, &spec);
	return ot_http_fetch(&spec, err);
}

/* ---- revocation --------------------------------------------------------------------- */

static void revoke_classify(const ot_http_result *r, int64_t now, ot_revoke_result *out)
{
	ot_verdict v;

	out->status = r->status;
	if (!r->transport_error && r->status == 200) {
		out->kind = OT_REVOKE_DONE;
		snprintf(out->reason, sizeof(out->reason), "HTTP 200");
		return;
	}
	ot_token_classify(r, now, &v);
	/* RFC 7009 §2.2.1: 503 means the token is still valid; so is any transient fault. */
	out->kind = v.outcome == OT_OUTCOME_TRANSIENT || r->status == 503 ? OT_REVOKE_UNAVAILABLE
	                                                                  : OT_REVOKE_REFUSED;
	out->retry_at = v.retry_at;
	if (r->status == 503 && !v.error_code[0])
		snprintf(out->reason, sizeof(out->reason), "HTTP 503 (service unavailable)");
	else
		snprintf(out->reason, sizeof(out->reason), "%s", v.reason);
	ot_token_answer_free(&v.answer);
}

int ot_revoke_token(const ot_provider *p, const ot_settings *s, const char *token, const char *hint,
                    int64_t now, ot_revoke_result *out, ot_err *err)
{
	ot_http_req *req;
	ot_http_result r;

	memset(out, 0, sizeof(*out));
	if (revoke_check_url(p, p->revocation_url, "revocation_url", err) < 0)
		return -1;
	if (!token || !*token)
		return ot_err_set(err, "no token to revoke");
	req = revoke_post(p, s, p->revocation_url, token, hint, err);
	if (!req)
		return -1;
	ot_http_req_result(req, &r);
	revoke_classify(&r, now, out);
	ot_http_req_free(req);
	return 0;
}

/* ---- introspection ------------------------------------------------------------------ */

static void intro_str(const cJSON *o, const char *name, char *out, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	out[0] = '\0';
	if (cJSON_IsString(v))
		snprintf(out, n, "%s", v->valuestring);
	/* Printable ASCII only: this text goes to a terminal. */
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
}

static int64_t intro_time(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || v->valuedouble > 1e13)
		return 0;
	return (int64_t)v->valuedouble;
}

static int intro_read(const ot_http_result *r, ot_introspection *out, ot_err *err)
{
	cJSON *o = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *active = cJSON_GetObjectItemCaseSensitive(o, "active");
	int rc = 0;

	if (!cJSON_IsBool(active)) {
		rc = ot_err_set(err, "introspection answer without an `active` member");
	} else {
		out->active = cJSON_IsTrue(active);
		out->exp = intro_time(o, "exp");
		out->iat = intro_time(o, "iat");
		intro_str(o, "scope", out->scope, sizeof(out->scope));
		intro_str(o, "client_id", out->client_id, sizeof(out->client_id));
		intro_str(o, "username", out->username, sizeof(out->username));
		intro_str(o, "sub", out->sub, sizeof(out->sub));
		intro_str(o, "token_type", out->token_type, sizeof(out->token_type));
	}
	cJSON_Delete(o);
	return rc;
}

int ot_introspect(const ot_provider *p, const ot_settings *s, const char *token, const char *hint,
                  ot_introspection *out, ot_err *err)
{
	ot_http_req *req;
	ot_http_result r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (revoke_check_url(p, p->introspection_url, "introspection_url", err) < 0)
		return -1;
	if (!token || !*token)
		return ot_err_set(err, "no token to introspect");
	req = revoke_post(p, s, p->introspection_url, token, hint, err);
	if (!req)
		return -1;
	ot_http_req_result(req, &r);
	out->status = r.status;
	if (r.transport_error || r.status != 200) {
		ot_verdict v;
		ot_token_classify(&r, 0, &v);
		rc = ot_err_set(err, "introspection failed: %s%s", v.reason,
		                v.outcome == OT_OUTCOME_CLIENT ? " (client rejected)" : "");
		ot_token_answer_free(&v.answer);
	} else {
		rc = intro_read(&r, out, err);
	}
	snprintf(out->reason, sizeof(out->reason), "%.255s", rc < 0 ? err->msg : "");
	ot_http_req_free(req);
	return rc;
}

/* ---- endpoint probe ----------------------------------------------------------------- */

int ot_probe_endpoint(const ot_provider *p, const ot_settings *s, const char *url,
                      const char *access_token, ot_probe *out, ot_err *err)
{
	ot_http_spec spec = {0};
	ot_http_req *req;
	ot_http_result r;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!ot_url_allowed(url))
		return ot_err_set(err,
		                  "endpoint must be https:// (http:// only to a loopback host)");
	if (!access_token || !*access_token)
		return ot_err_set(err, "no access token to send");
	revoke_spec_init(&spec, p, s, url);
	n = strlen(access_token) + sizeof("Bearer ");
	spec.authorization = malloc(n);
	if (!spec.authorization) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	snprintf(spec.authorization, n, "Bearer %s", access_token);
	req = ot_http_fetch(&spec, err);
	if (!req)
		return -1;
	ot_http_req_result(req, &r);
	out->seconds = ot_http_req_seconds(req);
	out->status = r.transport_error ? 0 : r.status;
	if (r.transport_error)
		snprintf(out->reason, sizeof(out->reason), "%s", r.transport_msg);
	else if (r.status >= 200 && r.status < 300)
		snprintf(out->reason, sizeof(out->reason), "HTTP %ld: accepted", r.status);
	else if (r.status == 401 || r.status == 403)
		snprintf(out->reason, sizeof(out->reason), "HTTP %ld: token rejected", r.status);
	else
		snprintf(out->reason, sizeof(out->reason), "HTTP %ld", r.status);
	ot_http_req_free(req);
	return 0;
}
