/* discovery.c - OpenID Connect Discovery / RFC 8414 metadata: fetch, check, cache, apply. */
#include "oauthtop/discovery.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "oauthtop/log.h"
#include "oauthtop/secret.h"

#define DISC_URL_MAX 2048

/* ---- parsing ------------------------------------------------------------------------ */

void ot_discovered_free(ot_discovered *d)
{
	free(d->issuer);
	free(d->token_url);
	free(d->device_authorization_url);
	free(d->authorization_url);
	free(d->revocation_url);
	free(d->introspection_url);
	free(d->userinfo_url);
	memset(d, 0, sizeof(*d));
}

/* Equal, or equal but for one trailing '/' on either side. */
static int disc_issuer_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la == lb)
		return memcmp(a, b, la) == 0;
	if (la == lb + 1 && a[lb] == '/')
		return memcmp(a, b, lb) == 0;
	if (lb == la + 1 && b[la] == '/')
		return memcmp(a, b, la) == 0;
	return 0;
}

/* Copies member `name` into *slot when it is a non-empty string; -1 with err when it is an
 * endpoint that ot_url_allowed() refuses, or not a string. */
static int disc_take_url(const cJSON *doc, const char *name, char **slot, ot_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring) {
		ot_err_set(err, "metadata: %s is not a string", name);
		return -2;
	}
	if (!*v->valuestring)
		return 0;
	if (!ot_url_allowed(v->valuestring)) {
		ot_err_set(
		        err,
		        "metadata: %s must be https:// (http:// only to a loopback host): %.200s",
		        name, v->valuestring);
		return -2;
	}
	*slot = ot_strdup(v->valuestring);
	return 0;
}

static bool disc_has_s256(const cJSON *doc)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "code_challenge_methods_supported");
	const cJSON *it;

	if (!cJSON_IsArray(m))
		return true;
	cJSON_ArrayForEach(it, m)
	{
		if (cJSON_IsString(it) && strcmp(it->valuestring, "S256") == 0)
			return true;
	}
	return false;
}

/* Returns 0; -1 with err when the document has no issuer; -2 with err when it must not be
 * used (another issuer, an endpoint refused): trying another document would not be right. */
static int disc_read(const cJSON *doc, const char *expected, ot_discovered *out, ot_err *err)
{
	const cJSON *iss = cJSON_GetObjectItemCaseSensitive(doc, "issuer");

	if (!cJSON_IsString(iss) || !*iss->valuestring)
		return ot_err_set(err, "metadata: no issuer member");
	if (!disc_issuer_equal(iss->valuestring, expected)) {
		ot_err_set(err,
		           "metadata: issuer mismatch: the document says \"%.200s\", the "
		           "configuration says \"%.200s\"",
		           iss->valuestring, expected);
		return -2;
	}
	out->issuer = ot_strdup(iss->valuestring);
	out->s256 = disc_has_s256(doc);
	if (disc_take_url(doc, "token_endpoint", &out->token_url, err) < 0 ||
	    disc_take_url(doc, "device_authorization_endpoint", &out->device_authorization_url,
	                  err) < 0 ||
	    disc_take_url(doc, "authorization_endpoint", &out->authorization_url, err) < 0 ||
	    disc_take_url(doc, "revocation_endpoint", &out->revocation_url, err) < 0 ||
	    disc_take_url(doc, "introspection_endpoint", &out->introspection_url, err) < 0 ||
	    disc_take_url(doc, "userinfo_endpoint", &out->userinfo_url, err) < 0)
		return -2;
	return 0;
}

/* ot_discovery_parse() with disc_read()'s return codes. */
static int disc_parse(const char *body, size_t len, const char *expected_issuer, ot_discovered *out,
                      ot_err *err)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return ot_err_set(err, "metadata: not a JSON object");
	}
	rc = disc_read(doc, expected_issuer, out, err);
	cJSON_Delete(doc);
	if (rc < 0)
		ot_discovered_free(out);
	return rc;
}

int ot_discovery_parse(const char *body, size_t len, const char *expected_issuer,
                       ot_discovered *out, ot_err *err)
{
	return disc_parse(body, len, expected_issuer, out, err) < 0 ? -1 : 0;
}

/* ---- URLs --------------------------------------------------------------------------- */

int ot_discovery_urls(const char *issuer, char *oidc, char *rfc8414, size_t n)
{
	const char *host, *path;
	size_t len = strlen(issuer);
	int a, b;

	if (strncmp(issuer, "https://", 8) == 0)
		host = issuer + 8;
	else if (strncmp(issuer, "http://", 7) == 0)
		host = issuer + 7;
	else
		return -1;
	while (len > 0 && issuer[len - 1] == '/')
		len--;
	path = strchr(host, '/');
	if (!path || path >= issuer + len)
		path = issuer + len;
	a = snprintf(oidc, n, "%.*s/.well-known/openid-configuration", (int)len, issuer);
	/* RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path. */
	b = snprintf(rfc8414, n, "%.*s/.well-known/oauth-authorization-server%.*s",
	             (int)(path - issuer), issuer, (int)(issuer + len - path), path);
	return a < 0 || b < 0 || (size_t)a >= n || (size_t)b >= n ? -1 : 0;
}

/* ---- fetching and caching ----------------------------------------------------------- */

static void disc_cache_key(const char *issuer, char *key, size_t n)
{
	snprintf(key, n, "discovery:%s", issuer);
}

/* Fetches url; on a 200 answer that parses, fills out and returns the raw document in *doc.
 * Returns 0, or -1 with err; -2 when the document was read but must not be used (issuer
 * mismatch, bad endpoint). */
static int disc_fetch_one(const ot_provider *p, const char *url, const ot_settings *s,
                          ot_discovered *out, char **doc, ot_err *err)
{
	ot_http_spec spec = {0};
	ot_http_result r;
	ot_http_req *req;
	int rc = -1;

	spec.url = url;
	spec.ca_file = p->ca_file;
	spec.connect_timeout = s->connect_timeout;
	spec.total_timeout = s->total_timeout;
	req = ot_http_fetch(&spec, err);
	if (!req)
		return -1;
	ot_http_req_result(req, &r);
	if (r.transport_error)
		ot_err_set(err, "%s: %s", url, r.transport_msg);
	else if (r.status != 200)
		ot_err_set(err, "%s: HTTP %ld", url, r.status);
	else
		rc = disc_parse(r.body, r.body_len, p->issuer, out, err);
	if (rc == 0) {
		*doc = malloc(r.body_len + 1);
		if (!*doc) {
			fputs("oauthtop: out of memory\n", stderr);
			abort();
		}
		memcpy(*doc, r.body, r.body_len);
		(*doc)[r.body_len] = '\0';
	}
	ot_http_req_free(req);
	return rc;
}

static int disc_fetch(const ot_provider *p, const ot_settings *s, ot_discovered *out, char **doc,
                      char *source, size_t srcn, ot_err *err)
{
	char urls[2][DISC_URL_MAX];
	ot_err first = {{0}}, second = {{0}};
	int rc;

	if (!ot_url_allowed(p->issuer) ||
	    ot_discovery_urls(p->issuer, urls[0], urls[1], sizeof(urls[0])) < 0)
		return ot_err_set(
		        err,
		        "provider %s: issuer must be https:// (http:// only to a loopback "
		        "host)",
		        p->name);
	rc = disc_fetch_one(p, urls[0], s, out, doc, &first);
	if (rc == 0) {
		snprintf(source, srcn, "%s", urls[0]);
		return 0;
	}
	if (rc == -2)
		return ot_err_set(err, "provider %s: %s", p->name, first.msg);
	rc = disc_fetch_one(p, urls[1], s, out, doc, &second);
	if (rc == 0) {
		snprintf(source, srcn, "%s", urls[1]);
		return 0;
	}
	if (rc == -2)
		return ot_err_set(err, "provider %s: %s", p->name, second.msg);
	return ot_err_set(err, "provider %s: discovery failed: %.200s; then %.200s", p->name,
	                  first.msg, second.msg);
}

/* The cache entry: {"fetched_at": N, "source": URL, "metadata": {...}}. */
static void disc_cache_put(ot_store *st, const char *issuer, const char *doc, const char *source,
                           int64_t now)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *meta = cJSON_Parse(doc);
	char key[DISC_URL_MAX + 16];
	char *text;
	ot_err err = {{0}};

	if (!o || !meta) {
		cJSON_Delete(o);
		cJSON_Delete(meta);
		return;
	}
	cJSON_AddNumberToObject(o, "fetched_at", (double)now);
	cJSON_AddStringToObject(o, "source", source);
	cJSON_AddItemToObject(o, "metadata", meta);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	disc_cache_key(issuer, key, sizeof(key));
	if (text && ot_store_meta_set(st, key, text, &err) < 0)
		ot_log(OT_LOG_WARN, NULL, "discovery: cannot cache %s: %s", issuer, err.msg);
	free(text);
}

/* Reads the cached document of p's issuer into out. Returns 1 found (its age in *age), 0 none
 * or unusable. */
static int disc_cache_get(ot_store *st, const ot_provider *p, int64_t now, ot_discovered *out,
                          int64_t *age)
{
	char key[DISC_URL_MAX + 16];
	char *text = NULL;
	cJSON *o, *meta, *at;
	ot_err err = {{0}};
	int rc = 0;

	disc_cache_key(p->issuer, key, sizeof(key));
	if (!st || ot_store_meta_get(st, key, &text, &err) != 1)
		return 0;
	o = cJSON_Parse(text);
	free(text);
	meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	at = cJSON_GetObjectItemCaseSensitive(o, "fetched_at");
	if (cJSON_IsObject(meta) && cJSON_IsNumber(at)) {
		memset(out, 0, sizeof(*out));
		if (disc_read(meta, p->issuer, out, &err) == 0) {
			*age = now - (int64_t)at->valuedouble;
			rc = 1;
		} else {
			ot_discovered_free(out);
		}
	}
	cJSON_Delete(o);
	return rc;
}

static void disc_fill(ot_config *cfg, const ot_provider *p, const ot_discovered *d)
{
	ot_config_provider_set_endpoints(cfg, p->name, p->token_url ? NULL : d->token_url,
	                                 p->device_authorization_url ? NULL
	                                                             : d->device_authorization_url,
	                                 p->authorization_url ? NULL : d->authorization_url,
	                                 p->revocation_url ? NULL : d->revocation_url,
	                                 p->introspection_url ? NULL : d->introspection_url);
}

/* Fetches, caches and fills; a failed fetch falls back to the stale document in *stale. */
static int disc_fetch_fill(ot_config *cfg, const ot_provider *p, ot_store *st, int64_t now,
                           ot_discovered *stale, bool have_stale, ot_err *err)
{
	ot_discovered d = {0};
	char *doc = NULL;
	char source[DISC_URL_MAX];

	if (disc_fetch(p, ot_config_settings(cfg), &d, &doc, source, sizeof(source), err) < 0) {
		if (!have_stale)
			return -1;
		ot_log(OT_LOG_WARN, NULL, "%s; using the cached metadata", err->msg);
		disc_fill(cfg, p, stale);
		return 1;
	}
	if (st)
		disc_cache_put(st, p->issuer, doc, source, now);
	disc_fill(cfg, p, &d);
	free(doc);
	ot_discovered_free(&d);
	return 1;
}

int ot_discovery_apply(ot_config *cfg, const char *provider, ot_store *st, int64_t now, int flags,
                       ot_err *err)
{
	const ot_provider *p = ot_config_find_provider(cfg, provider);
	ot_discovered cached = {0};
	int64_t age = 0;
	int have, rc;

	if (!p)
		return ot_err_set(err, "no provider named \"%s\"", provider);
	if (!p->issuer)
		return 0;
	have = disc_cache_get(st, p, now, &cached, &age);
	if (have && ((flags & OT_DISCOVERY_CACHE_ONLY) ||
	             (!(flags & OT_DISCOVERY_FETCH) && age >= 0 && age < OT_DISCOVERY_MAX_AGE))) {
		disc_fill(cfg, p, &cached);
		ot_discovered_free(&cached);
		return 1;
	}
	if (flags & OT_DISCOVERY_CACHE_ONLY)
		return 0;
	rc = disc_fetch_fill(cfg, p, st, now, &cached, have, err);
	ot_discovered_free(&cached);
	return rc;
}

int ot_discovery_apply_all(ot_config *cfg, ot_store *st, int64_t now, int flags, ot_err *err)
{
	size_t n = ot_config_provider_count(cfg);
	int filled = 0, failed = 0;
	ot_err one;

	for (size_t i = 0; i < n; i++) {
		const ot_provider *p = ot_config_provider(cfg, i);
		int rc;
		if (!p->issuer)
			continue;
		memset(&one, 0, sizeof(one));
		rc = ot_discovery_apply(cfg, p->name, st, now, flags, &one);
		if (rc > 0)
			filled++;
		if (rc < 0 && !failed++)
			ot_err_set(err, "%s", one.msg);
	}
	return failed ? -1 : filled;
}
