/* scenario.c - scenario rules and the answers of doc/idp-scenarios.md they produce. */
#include "idp.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

long idp_param_long(const cJSON *params, const char *key, long dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(params, key);
	if (cJSON_IsNumber(it))
		return (long)it->valuedouble;
	if (cJSON_IsString(it) && it->valuestring[0])
		return strtol(it->valuestring, NULL, 10);
	return dflt;
}

static const char *param_str(const cJSON *params, const char *key, const char *dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(params, key);
	return cJSON_IsString(it) ? it->valuestring : dflt;
}

static int param_bool(const cJSON *params, const char *key, int dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(params, key);
	return cJSON_IsBool(it) ? cJSON_IsTrue(it) : dflt;
}

/* A raw JSON value from params[key]: a string is used as JSON text, anything else printed. */
static cJSON *param_raw(const cJSON *params, const char *key, const char *dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(params, key);
	if (cJSON_IsString(it))
		return cJSON_CreateRaw(it->valuestring);
	if (it && !cJSON_IsInvalid(it)) {
		char *text = cJSON_PrintUnformatted(it);
		cJSON *raw = cJSON_CreateRaw(text ? text : dflt);
		cJSON_free(text);
		return raw;
	}
	return cJSON_CreateRaw(dflt);
}

static cJSON *success_obj(const idp_success *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "access_token", s->access_token);
	cJSON_AddStringToObject(o, "token_type", "Bearer");
	cJSON_AddNumberToObject(o, "expires_in", (double)s->expires_in);
	if (s->refresh_token)
		cJSON_AddStringToObject(o, "refresh_token", s->refresh_token);
	if (s->refresh_expires_in > 0)
		cJSON_AddNumberToObject(o, "refresh_expires_in", (double)s->refresh_expires_in);
	if (s->scope)
		cJSON_AddStringToObject(o, "scope", s->scope);
	return o;
}

static void set_member(cJSON *o, const char *key, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
	else
		cJSON_AddItemToObject(o, key, v);
}

void idp_success_reply(idp_reply *r, const idp_success *s)
{
	idp_reply_json(r, 200, success_obj(s));
}

/* ---- success-shaped scenarios ---- */

static void sc_ok(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)p;
	(void)now;
	idp_success_reply(r, s);
}

static void sc_no_rt(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)p;
	(void)now;
	cJSON *o = success_obj(s);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "refresh_token");
	idp_reply_json(r, 200, o);
}

static void sc_empty_rt(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)p;
	(void)now;
	cJSON *o = success_obj(s);
	set_member(o, "refresh_token", cJSON_CreateString(""));
	idp_reply_json(r, 200, o);
}

static void sc_null_rt(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)p;
	(void)now;
	cJSON *o = success_obj(s);
	set_member(o, "refresh_token", cJSON_CreateNull());
	idp_reply_json(r, 200, o);
}

static void sc_exp_string(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)now;
	cJSON *o = success_obj(s);
	set_member(o, "expires_in", cJSON_CreateString(param_str(p, "value", "3599")));
	idp_reply_json(r, 200, o);
}

static void sc_exp_bad(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)now;
	cJSON *o = success_obj(s);
	set_member(o, "expires_in", cJSON_CreateString(param_str(p, "value", "abc")));
	idp_reply_json(r, 200, o);
}

static void sc_no_exp(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)p;
	(void)now;
	cJSON *o = success_obj(s);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "expires_in");
	idp_reply_json(r, 200, o);
}

static void sc_exp_value(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)now;
	cJSON *o = success_obj(s);
	set_member(o, "expires_in", param_raw(p, "value", "0"));
	idp_reply_json(r, 200, o);
}

static void sc_bearer_lc(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)p;
	(void)now;
	cJSON *o = success_obj(s);
	set_member(o, "token_type", cJSON_CreateString("bearer"));
	idp_reply_json(r, 200, o);
}

static void sc_refresh_exp(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)now;
	cJSON *o = success_obj(s);
	set_member(o, "refresh_expires_in", param_raw(p, "value", "1800"));
	idp_reply_json(r, 200, o);
}

static void sc_github_exp(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)now;
	cJSON *o = success_obj(s);
	set_member(o, "expires_in", cJSON_CreateNumber(28800));
	set_member(o, "refresh_token_expires_in", param_raw(p, "value", "15811200"));
	set_member(o, "scope", cJSON_CreateString(""));
	idp_reply_json(r, 200, o);
}

static void sc_intuit_exp(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)now;
	cJSON *o = success_obj(s);
	long rexp = idp_param_long(p, "value", 8726400);
	if (param_bool(p, "strings", 1)) {
		char *a = idp_xprintf("%ld", s->expires_in), *b = idp_xprintf("%ld", rexp);
		set_member(o, "expires_in", cJSON_CreateString(a));
		set_member(o, "x_refresh_token_expires_in", cJSON_CreateString(b));
		free(a);
		free(b);
	} else {
		set_member(o, "x_refresh_token_expires_in", cJSON_CreateNumber((double)rexp));
	}
	idp_reply_json(r, 200, o);
}

static void sc_extra(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)p;
	(void)now;
	cJSON *o = success_obj(s);
	cJSON_AddNumberToObject(o, "ext_expires_in", 3600);
	cJSON_AddArrayToObject(o, "error_codes");
	cJSON_AddStringToObject(o, "id_token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.");
	cJSON_AddNumberToObject(o, "not-before-policy", 0);
	cJSON_AddStringToObject(o, "session_state", "b2c3d4e5-0000-4000-8000-000000000000");
	cJSON *obj = cJSON_AddObjectToObject(o, "x_vendor");
	cJSON_AddStringToObject(obj, "refresh_token", "not-this-one");
	cJSON_AddNumberToObject(obj, "expires_in", -5);
	cJSON *arr = cJSON_AddArrayToObject(o, "x_list");
	cJSON_AddItemToArray(arr, cJSON_CreateString("access_token"));
	cJSON_AddItemToArray(arr, cJSON_CreateNumber(1));
	cJSON_AddTrueToObject(o, "x_flag");
	cJSON_AddNullToObject(o, "x_null");
	idp_reply_json(r, 200, o);
}

static void sc_truncated(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)now;
	const char *body = param_str(p, "body", "{\"access_token\":\"A2\",\"refr");
	idp_reply_body(r, 200, "application/json", body, strlen(body));
}

static void sc_form(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)p;
	(void)now;
	cJSON *o = success_obj(s);
	set_member(o, "token_type", cJSON_CreateString("bearer"));
	idp_reply_json(r, 200, o);
	idp_reply_to_form(r);
}

static void sc_slow(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)now;
	idp_success_reply(r, s);
	r->stream = IDP_STREAM_SLOW;
	r->stream_arg = idp_param_long(p, "ms_per_byte", 1000);
}

/* ---- error-shaped scenarios ---- */

static void sc_html(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	static const char page[] =
	        "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body><form "
	        "method=\"post\" action=\"/login\"><input name=\"user\"><input name=\"password\" "
	        "type=\"password\"><button>Sign in</button></form></body></html>\n";
	idp_reply_body(r, 200, "text/html; charset=utf-8", page, sizeof page - 1);
}

static void sc_github_bad(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", "bad_refresh_token");
	cJSON_AddStringToObject(o, "error_description",
	                        "The refresh token passed is incorrect or expired.");
	cJSON_AddStringToObject(o, "error_uri", "https://docs.github.com/apps/troubleshooting");
	idp_reply_json(r, 200, o);
}

static void sc_vendor_status(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", "BAD_REFRESH_TOKEN");
	cJSON_AddStringToObject(o, "message", "The refresh token is invalid.");
	idp_reply_json(r, 400, o);
}

static void sc_invalid_grant(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)now;
	idp_reply_error(r, 400, "invalid_grant",
	                param_str(p, "description", "Token has been expired or revoked."));
}

static void sc_invalid_grant_403(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)now;
	idp_reply_error(r, 403, "invalid_grant",
	                param_str(p, "description", "Unknown or invalid refresh token."));
}

static void sc_zoom(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "reason", "Invalid Token!");
	cJSON_AddStringToObject(o, "error", "invalid_grant");
	idp_reply_json(r, 400, o);
}

static void sc_entra(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	char stamp[32];
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%SZ", &tm);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", "invalid_grant");
	cJSON_AddStringToObject(o, "error_description",
	                        "AADSTS70008: The provided authorization code or refresh token has "
	                        "expired due to inactivity.");
	cJSON *codes = cJSON_AddArrayToObject(o, "error_codes");
	cJSON_AddItemToArray(codes, cJSON_CreateNumber(70008));
	cJSON_AddStringToObject(o, "timestamp", stamp);
	cJSON_AddStringToObject(o, "trace_id", "0e6b4c3a-0000-4000-8000-000000000001");
	cJSON_AddStringToObject(o, "correlation_id", "0e6b4c3a-0000-4000-8000-000000000002");
	idp_reply_json(r, 400, o);
}

static void sc_invalid_client(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	idp_reply_error(r, 401, "invalid_client", "Client authentication failed");
	idp_reply_header(r, "WWW-Authenticate", "Basic realm=\"oauthtop-idp\"");
}

static void sc_unauth_client(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	idp_reply_error(r, 401, "unauthorized_client",
	                "Invalid client or Invalid client credentials");
}

static void sc_servicenow_401(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	idp_reply_error(r, 401, "server_error", "access_denied");
}

static void sc_invalid_scope(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)now;
	idp_reply_error(r, 400, "invalid_scope",
	                param_str(p, "description", "The requested scope is invalid."));
}

static void http_date(char *out, size_t n, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void sc_retry_after(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	long secs = idp_param_long(p, "seconds", 60);
	char v[64];
	if (param_bool(p, "http_date", 0))
		http_date(v, sizeof v, (time_t)now + secs);
	else
		snprintf(v, sizeof v, "%ld", secs);
	idp_reply_error(r, 429, "rate_limited", "Too many requests");
	idp_reply_header(r, "Retry-After", v);
}

static void sc_rate_reset(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	char v[32];
	snprintf(v, sizeof v, "%ld", (long)now + idp_param_long(p, "seconds", 60));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "errorCode", "E0000047");
	cJSON_AddStringToObject(o, "errorSummary",
	                        "API call exceeded rate limit due to too many requests.");
	idp_reply_json(r, 429, o);
	idp_reply_header(r, "X-Rate-Limit-Reset", v);
	idp_reply_header(r, "X-Rate-Limit-Limit", "600");
	idp_reply_header(r, "X-Rate-Limit-Remaining", "0");
}

static void sc_unavailable(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)now;
	char v[32];
	snprintf(v, sizeof v, "%ld", idp_param_long(p, "seconds", 30));
	idp_reply_error(r, 503, "temporarily_unavailable",
	                "The service is temporarily unavailable.");
	idp_reply_header(r, "Retry-After", v);
}

static void sc_tu_400(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	idp_reply_error(r, 400, "temporarily_unavailable", NULL);
}

static void sc_server_error(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	idp_reply_error(r, 500, "server_error", "Internal server error");
}

static void sc_502(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	idp_reply_body(r, 502, NULL, "", 0);
}

static void sc_504(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	idp_reply_body(r, 504, NULL, "", 0);
}

static void sc_close(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	r->close = 1;
}

static void sc_redirect(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)now;
	static const char page[] = "<html><body>Moved</body></html>\n";
	idp_reply_body(r, 302, "text/html", page, sizeof page - 1);
	idp_reply_header(r, "Location", param_str(p, "location", "/login"));
}

static void sc_huge(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)now;
	idp_reply_body(r, 200, "application/json", "", 0);
	r->stream = IDP_STREAM_HUGE;
	r->stream_arg = idp_param_long(p, "bytes", 10L * 1024 * 1024);
}

static void sc_endless(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	idp_reply_body(r, 200, "application/json", "", 0);
	r->stream = IDP_STREAM_ENDLESS;
}

static void sc_deep(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)now;
	long depth = idp_param_long(p, "depth", 100000);
	if (depth < 1 || depth > 10000000)
		depth = 100000;
	idp_buf b = {0};
	idp_buf_adds(&b, "{\"access_token\":\"A2\",\"token_type\":\"Bearer\",\"x\":");
	for (long i = 0; i < depth; i++)
		idp_buf_add(&b, "[", 1);
	for (long i = 0; i < depth; i++)
		idp_buf_add(&b, "]", 1);
	idp_buf_adds(&b, "}");
	idp_reply_body(r, 200, "application/json", b.data, b.len);
	idp_buf_free(&b);
}

static void sc_nul(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)now;
	if (param_bool(p, "escaped", 0)) {
		static const char e[] =
		        "{\"access_token\":\"A2\\u0000X\",\"token_type\":\"Bearer\","
		        "\"expires_in\":3600,\"refresh_token\":\"R\\u00002\"}";
		idp_reply_body(r, 200, "application/json", e, sizeof e - 1);
		return;
	}
	static const char raw[] = "{\"access_token\":\"A2\0X\",\"token_type\":\"Bearer\","
	                          "\"expires_in\":3600,\"refresh_token\":\"R\0002\"}";
	idp_reply_body(r, 200, "application/json", raw, sizeof raw - 1);
}

static void sc_utf8(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)p;
	(void)now;
	static const char b[] = "{\"access_token\":\"A2\xff\xfe\",\"token_type\":\"Bearer\","
	                        "\"expires_in\":3600,\"refresh_token\":\"R2\xc3\"}";
	idp_reply_body(r, 200, "application/json", b, sizeof b - 1);
}

static void sc_error(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)now;
	idp_reply_error(r, (int)idp_param_long(p, "status", 400),
	                param_str(p, "error", "invalid_request"),
	                param_str(p, "description", NULL));
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(p, "retry_after");
	if (cJSON_IsString(ra))
		idp_reply_header(r, "Retry-After", ra->valuestring);
	else if (cJSON_IsNumber(ra)) {
		char v[32];
		snprintf(v, sizeof v, "%ld", (long)ra->valuedouble);
		idp_reply_header(r, "Retry-After", v);
	}
}

static void sc_raw(idp_reply *r, const idp_success *s, const cJSON *p, double now)
{
	(void)s;
	(void)now;
	const char *body = param_str(p, "body", "");
	idp_reply_body(r, (int)idp_param_long(p, "status", 200), param_str(p, "content_type", NULL),
	               body, strlen(body));
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(p, "headers");
	for (const cJSON *it = cJSON_IsObject(h) ? h->child : NULL; it; it = it->next)
		if (cJSON_IsString(it))
			idp_reply_header(r, it->string, it->valuestring);
}

#define S IDP_SHAPE_SUCCESS
#define K IDP_SHAPE_KEEP
#define E IDP_SHAPE_ERROR
#define C IDP_SHAPE_CLIENT
static const idp_scenario scenarios[] = {
        {"ok", S, 0, sc_ok},
        {"ok_no_refresh_token", K, 0, sc_no_rt},
        {"empty_refresh_token", K, 0, sc_empty_rt},
        {"null_refresh_token", K, 0, sc_null_rt},
        {"expires_in_string", S, 0, sc_exp_string},
        {"expires_in_bad", S, 0, sc_exp_bad},
        {"no_expires_in", S, 0, sc_no_exp},
        {"expires_in_value", S, 0, sc_exp_value},
        {"bearer_lowercase", S, 0, sc_bearer_lc},
        {"refresh_expires_in", S, 0, sc_refresh_exp},
        {"github_expiry", S, 0, sc_github_exp},
        {"intuit_expiry", S, 0, sc_intuit_exp},
        {"extra_members", S, 0, sc_extra},
        {"html_200", E, 0, sc_html},
        {"github_bad_refresh_token", E, 0, sc_github_bad},
        {"vendor_status", E, 0, sc_vendor_status},
        {"truncated", S, 0, sc_truncated},
        {"invalid_grant", E, 0, sc_invalid_grant},
        {"invalid_grant_403", E, 0, sc_invalid_grant_403},
        {"zoom_invalid_grant", E, 0, sc_zoom},
        {"entra_invalid_grant", E, 0, sc_entra},
        {"invalid_client", C, 0, sc_invalid_client},
        {"unauthorized_client", C, 0, sc_unauth_client},
        {"servicenow_401", C, 0, sc_servicenow_401},
        {"invalid_scope", E, 0, sc_invalid_scope},
        {"rotate_then_stall", S, 60000, sc_ok},
        {"rate_limit_retry_after", E, 0, sc_retry_after},
        {"rate_limit_reset", E, 0, sc_rate_reset},
        {"unavailable", E, 0, sc_unavailable},
        {"temporarily_unavailable_400", E, 0, sc_tu_400},
        {"server_error", E, 0, sc_server_error},
        {"bad_gateway_empty", E, 0, sc_502},
        {"gateway_timeout_empty", E, 0, sc_504},
        {"close", E, 0, sc_close},
        {"stall", E, 3600000, sc_close},
        {"redirect", E, 0, sc_redirect},
        {"form_encoded", S, 0, sc_form},
        {"slow_loris", S, 0, sc_slow},
        {"huge_body", E, 0, sc_huge},
        {"endless_body", E, 0, sc_endless},
        {"deep_json", E, 0, sc_deep},
        {"nul_bytes", E, 0, sc_nul},
        {"invalid_utf8", E, 0, sc_utf8},
        {"latency", S, 1000, sc_ok},
        {"error", E, 0, sc_error},
        {"raw", E, 0, sc_raw},
        {"revoke_unavailable", E, 0, sc_unavailable},
};
#undef S
#undef K
#undef E
#undef C

const idp_scenario *idp_scenario_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof scenarios / sizeof scenarios[0]; i++)
		if (strcmp(scenarios[i].name, name) == 0)
			return &scenarios[i];
	return NULL;
}

/* ---- rules ---- */

static char *opt_string(const cJSON *obj, const char *key, int *bad)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it || cJSON_IsNull(it))
		return NULL;
	if (!cJSON_IsString(it)) {
		*bad = 1;
		return NULL;
	}
	return idp_xstrdup(it->valuestring);
}

long idp_rule_add(idp_server *srv, const cJSON *obj, const char **err)
{
	if (!cJSON_IsObject(obj)) {
		*err = "rule must be a JSON object";
		return -1;
	}
	const idp_scenario *sc = idp_scenario_find(param_str(obj, "scenario", NULL));
	if (!sc) {
		*err = "unknown or missing scenario";
		return -1;
	}
	int bad = 0;
	idp_rule *r = idp_xcalloc(1, sizeof *r);
	r->family = opt_string(obj, "family", &bad);
	r->client_id = opt_string(obj, "client_id", &bad);
	r->grant = opt_string(obj, "grant", &bad);
	r->sc = sc;
	r->times = idp_param_long(obj, "times", 1);
	r->skip = idp_param_long(obj, "skip", 0);
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(obj, "params");
	int any = param_bool(obj, "any", 0);
	if (bad || r->times < 0 || r->skip < 0 || (params && !cJSON_IsObject(params)))
		*err = "bad rule member";
	else if (!any && !r->family && !r->client_id)
		*err = "rule needs family, client_id or any:true";
	else
		*err = NULL;
	if (*err) {
		idp_rule_free(r);
		return -1;
	}
	r->params = params ? cJSON_Duplicate(params, 1) : cJSON_CreateObject();
	r->id = srv->next_rule_id++;
	idp_rule **p = &srv->rules;
	while (*p)
		p = &(*p)->next;
	*p = r;
	return r->id;
}

void idp_rule_free(idp_rule *r)
{
	if (!r)
		return;
	free(r->family);
	free(r->client_id);
	free(r->grant);
	cJSON_Delete(r->params);
	free(r);
}

void idp_rules_clear(idp_server *srv)
{
	while (srv->rules) {
		idp_rule *next = srv->rules->next;
		idp_rule_free(srv->rules);
		srv->rules = next;
	}
}

int idp_rule_delete(idp_server *srv, long id)
{
	for (idp_rule **p = &srv->rules; *p; p = &(*p)->next) {
		if ((*p)->id == id) {
			idp_rule *r = *p;
			*p = r->next;
			idp_rule_free(r);
			return 0;
		}
	}
	return -1;
}

cJSON *idp_rules_json(const idp_server *srv)
{
	cJSON *a = cJSON_CreateArray();
	for (const idp_rule *r = srv->rules; r; r = r->next) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)r->id);
		cJSON_AddStringToObject(o, "scenario", r->sc->name);
		if (r->family)
			cJSON_AddStringToObject(o, "family", r->family);
		if (r->client_id)
			cJSON_AddStringToObject(o, "client_id", r->client_id);
		if (!r->family && !r->client_id)
			cJSON_AddTrueToObject(o, "any");
		if (r->grant)
			cJSON_AddStringToObject(o, "grant", r->grant);
		cJSON_AddNumberToObject(o, "times", (double)r->times);
		cJSON_AddNumberToObject(o, "skip", (double)r->skip);
		cJSON_AddNumberToObject(o, "hits", (double)r->hits);
		cJSON_AddItemToObject(o, "params", cJSON_Duplicate(r->params, 1));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static int str_match(const char *want, const char *have)
{
	return !want || (have && strcmp(want, have) == 0);
}

static int rule_matches(const idp_rule *r, const char *family, const char *client_id,
                        const char *grant, int client_ok)
{
	int on_revoke = grant && strcmp(grant, "revoke") == 0;
	int revoke_rule = strncmp(r->sc->name, "revoke_", 7) == 0;
	if (on_revoke != revoke_rule)
		return 0;
	if (!client_ok && r->sc->shape != IDP_SHAPE_CLIENT)
		return 0;
	return str_match(r->family, family) && str_match(r->client_id, client_id) &&
	       str_match(r->grant, grant);
}

idp_rule *idp_rule_take(idp_server *srv, const char *family, const char *client_id,
                        const char *grant, int client_ok)
{
	for (idp_rule **p = &srv->rules; *p; p = &(*p)->next) {
		idp_rule *r = *p;
		if (!rule_matches(r, family, client_id, grant, client_ok))
			continue;
		if (r->skip > 0) {
			r->skip--;
			return NULL;
		}
		r->hits++;
		idp_rule *copy = idp_xcalloc(1, sizeof *copy);
		copy->id = r->id;
		copy->sc = r->sc;
		copy->params = cJSON_Duplicate(r->params, 1);
		if (r->times > 0 && --r->times == 0) {
			*p = r->next;
			idp_rule_free(r);
		}
		srv->st.scenario_hits++;
		return copy;
	}
	return NULL;
}
