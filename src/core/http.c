/* http.c - the OAuth HTTP client over libcurl (the only core file that includes curl.h). */
#include "core/http.h"
#include "core/b64.h"

#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "oauthtop/secret.h"

#define HTTP_POOL_MAX 64
#define HTTP_EVENTS   64

struct ot_http_req {
	CURL *easy;
	ot_http *owner; /* NULL for a synchronous fetch */
	ot_http_req *prev, *next;
	bool attached; /* added to the multi handle */
	bool done;
	bool collected;  /* finished, detached, in the owner's done queue */
	ot_http_req *done_next;
	struct curl_slist *headers;
	char *url;
	char *ca_file;
	char *authorization;
	char *basic_secret;
	ot_form form;
	bool rewind_refused; /* libcurl wanted to send it again: refused */
	int attempts;        /* times libcurl got ready to send it (pre-request callback) */
	char *resp;
	size_t resp_len, resp_cap;
	bool truncated;
	char *retry_after;
	char *rate_limit_reset;
	CURLcode code;
	long status;
	int64_t connect_timeout;
	int64_t total_timeout;
	char errbuf[CURL_ERROR_SIZE];
	char msg[CURL_ERROR_SIZE + 64];
	void *user;
};

/* The multi handle is driven by its socket interface (curl_multi_socket_action) over an
 * epoll set: a wakeup touches only the transfers whose sockets are ready, where
 * curl_multi_perform() walks every transfer and the poll() behind it every socket, which
 * at 32-128 transfers in flight was most of the client's CPU per refresh. */
struct ot_http {
	CURLM *multi;
	CURLSH *share;
	ot_http_req *reqs; /* every live request of this handle */
	CURL *pool[HTTP_POOL_MAX];
	int n_pool;
	int attached; /* requests added to the multi handle and not yet detached */
	int running;  /* as of the last socket action */
	ot_http_req *done_head, *done_tail; /* collected, not yet returned by next_done */
	size_t n_done;
	int epfd;             /* libcurl's sockets, plus wakefd */
	int wakefd;           /* eventfd written by ot_http_wakeup() */
	int64_t deadline_ms;  /* libcurl's timer (monotonic ms), -1 none */
	bool kick;            /* transfers added since the last timeout action */
	struct epoll_event pending[HTTP_EVENTS]; /* seen by ot_http_wait(), not yet acted on */
	int n_pending;
};

/* --- forms and client authentication --- */

static void form_reserve(ot_form *f, size_t extra)
{
	size_t need = f->len + extra + 1;
	size_t cap = f->cap ? f->cap : 256;
	char *nb;

	if (need <= f->cap)
		return;
	while (cap < need)
		cap *= 2;
	/* Grow by copy so the old buffer can be wiped: it holds secrets. */
	nb = malloc(cap);
	if (!nb) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	if (f->buf) {
		memcpy(nb, f->buf, f->len + 1);
		ot_wipe(f->buf, f->cap);
		free(f->buf);
	}
	f->buf = nb;
	f->cap = cap;
}

/* Percent-encodes everything but the unreserved characters (RFC 3986), as curl_easy_escape
 * does, without allocating. */
static void form_put_escaped(ot_form *f, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);

	form_reserve(f, n * 3);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			f->buf[f->len++] = (char)c;
		} else {
			f->buf[f->len++] = '%';
			f->buf[f->len++] = hex[c >> 4];
			f->buf[f->len++] = hex[c & 15];
		}
	}
	f->buf[f->len] = '\0';
}

void ot_form_add(ot_form *f, const char *key, const char *value)
{
	form_reserve(f, 1);
	if (f->len)
		f->buf[f->len++] = '&';
	f->buf[f->len] = '\0';
	form_put_escaped(f, key);
	form_reserve(f, 1);
	f->buf[f->len++] = '=';
	f->buf[f->len] = '\0';
	form_put_escaped(f, value ? value : "");
}

void ot_form_clear(ot_form *f)
{
	if (f->buf) {
		ot_wipe(f->buf, f->cap);
		free(f->buf);
	}
	memset(f, 0, sizeof(*f));
}

void ot_http_spec_clear(ot_http_spec *s)
{
	ot_secret_free(s->authorization);
	s->authorization = NULL;
	ot_secret_free(s->basic_secret);
	s->basic_secret = NULL;
	ot_form_clear(&s->form);
}

/* "Basic " + base64(urlenc(id) ":" urlenc(secret)), RFC 6749 §2.3.1. */
static char *basic_authorization(const char *id, const char *secret)
{
	ot_form pair = {0};
	char *out;
	size_t outlen;

	form_put_escaped(&pair, id ? id : "");
	form_reserve(&pair, 1);
	pair.buf[pair.len++] = ':';
	pair.buf[pair.len] = '\0';
	form_put_escaped(&pair, secret ? secret : "");
	outlen = 6 + (pair.len + 2) / 3 * 4 + 1;
	out = malloc(outlen);
	if (!out) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	memcpy(out, "Basic ", 6);
	ot_b64_encode((const unsigned char *)pair.buf, pair.len, 0, out + 6);
	ot_form_clear(&pair);
	return out;
}

void ot_http_client_auth(const ot_provider *p, ot_http_spec *s)
{
	switch (p->auth_method) {
	case OT_AUTH_POST:
		ot_form_add(&s->form, "client_id", p->client_id);
		ot_form_add(&s->form, "client_secret", p->client_secret ? p->client_secret : "");
		break;
	case OT_AUTH_NONE:
		ot_form_add(&s->form, "client_id", p->client_id);
		break;
	case OT_AUTH_BASIC:
	default:
		ot_secret_free(s->authorization);
		ot_secret_free(s->basic_secret);
		s->authorization = basic_authorization(p->client_id, p->client_secret);
		s->basic_secret = ot_strdup(p->client_secret);
		break;
	}
}

int ot_http_token_spec(const ot_account *a, const char *refresh_token, int64_t connect_timeout,
                       int64_t total_timeout, ot_http_spec *s, ot_err *err)
{
	const ot_provider *p = a->provider;

	if (!p->token_url || !*p->token_url)
		return ot_err_set(err, "provider %s: no token URL (discovery has not run)",
		                  p->name);
	if (!ot_url_allowed(p->token_url))
		return ot_err_set(err,
		                  "provider %s: token URL must be https:// (http:// only to a "
		                  "loopback host)",
		                  p->name);
	if (a->grant == OT_GRANT_REFRESH_TOKEN && (!refresh_token || !*refresh_token))
		return ot_err_set(err, "no refresh token stored");
	s->url = p->token_url;
	s->ca_file = p->ca_file;
	s->connect_timeout = connect_timeout;
	s->total_timeout = total_timeout;
	if (a->grant == OT_GRANT_CLIENT_CREDENTIALS) {
		ot_form_add(&s->form, "grant_type", "client_credentials");
	} else {
		ot_form_add(&s->form, "grant_type", "refresh_token");
		ot_form_add(&s->form, "refresh_token", refresh_token);
	}
	if (a->scope)
		ot_form_add(&s->form, "scope", a->scope);
	for (size_t i = 0; i < p->n_extra_params; i++)
		ot_form_add(&s->form, p->extra_params[i].key, p->extra_params[i].value);
	ot_http_client_auth(p, s);
	return 0;
}

/* --- one transfer --- */

static size_t req_on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	ot_http_req *r = userp;
	size_t n = size * nmemb;
	size_t cap;
	char *nb;

	if (r->resp_len + n > OT_ANSWER_MAX) {
		r->truncated = true;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	if (r->resp_len + n + 1 > r->resp_cap) {
		cap = r->resp_cap ? r->resp_cap : 1024;
		while (cap < r->resp_len + n + 1)
			cap *= 2;
		nb = malloc(cap);
		if (!nb)
			return 0;
		if (r->resp) {
			memcpy(nb, r->resp, r->resp_len);
			ot_wipe(r->resp, r->resp_cap);
			free(r->resp);
		}
		r->resp = nb;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, data, n);
	r->resp_len += n;
	r->resp[r->resp_len] = '\0';
	return n;
}

/* Copies a header's value (trimmed) if the line is "name: value". */
static void header_take(const char *line, size_t n, const char *name, char **slot)
{
	size_t nl = strlen(name);
	const char *v, *end = line + n;
	char *copy;

	if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return;
	for (v = line + nl + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	copy = malloc((size_t)(end - v) + 1);
	if (!copy)
		return;
	memcpy(copy, v, (size_t)(end - v));
	copy[end - v] = '\0';
	free(*slot);
	*slot = copy;
}

static size_t req_on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	ot_http_req *r = userp;
	size_t n = size * nmemb;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue, say): forget the previous headers. */
		free(r->retry_after);
		free(r->rate_limit_reset);
		r->retry_after = r->rate_limit_reset = NULL;
		return n;
	}
	header_take(data, n, "Retry-After", &r->retry_after);
	header_take(data, n, "X-Rate-Limit-Reset", &r->rate_limit_reset);
	return n;
}

static void req_wipe_headers(struct curl_slist *l)
{
	for (; l; l = l->next)
		if (l->data)
			ot_wipe(l->data, strlen(l->data));
}

static int req_add_header(ot_http_req *r, const char *line)
{
	struct curl_slist *l = curl_slist_append(r->headers, line);

	if (!l)
		return -1;
	r->headers = l;
	return 0;
}

static int req_build_headers(ot_http_req *r)
{
	char *h;
	size_t n;
	int rc;

	if (req_add_header(r, "Accept: application/json") < 0 || req_add_header(r, "Expect:") < 0)
		return -1;
	if (r->form.len && req_add_header(r, "Content-Type: application/x-www-form-urlencoded") < 0)
		return -1;
	if (!r->authorization)
		return 0;
	n = strlen(r->authorization) + sizeof("Authorization: ");
	h = malloc(n);
	if (!h)
		return -1;
	snprintf(h, n, "Authorization: %s", r->authorization);
	rc = req_add_header(r, h);
	ot_wipe(h, n);
	free(h);
	return rc;
}

/* libcurl sends a request again on its own in one case: a reused keep-alive connection that
 * died with not a byte of the answer read. The server may have acted on the first copy (a
 * rotated refresh token), so the resend is the engine's decision (one lost-answer retry),
 * never a silent one: the second time libcurl is about to send, if any of the first copy
 * went out (CURLINFO_REQUEST_SIZE still counts it), the transfer is aborted and reported as
 * a lost answer. A request that never left is let go again. The body itself travels with
 * the headers (CURLOPT_POSTFIELDS: one send(2), where a read callback took two). */
static int req_on_prereq(void *userp, char *ip, char *local_ip, int port, int local_port)
{
	ot_http_req *r = userp;
	long reqsize = 0;

	(void)ip;
	(void)local_ip;
	(void)port;
	(void)local_port;
	if (r->attempts++ == 0)
		return CURL_PREREQFUNC_OK;
	curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &reqsize);
	if (reqsize <= 0)
		return CURL_PREREQFUNC_OK;
	r->rewind_refused = true;
	return CURL_PREREQFUNC_ABORT;
}

/* Sets every option of a request on r->easy. Returns -1 with err on failure. */
static int req_setup(ot_http_req *r, CURLSH *share, ot_err *err)
{
	CURL *e = r->easy;

	if (req_build_headers(r) < 0)
		return ot_err_set(err, "out of memory building the request");
	if (curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK)
		return ot_err_set(err, "invalid URL");
	if (curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK)
		return ot_err_set(err, "libcurl cannot restrict protocols to http and https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (r->ca_file && curl_easy_setopt(e, CURLOPT_CAINFO, r->ca_file) != CURLE_OK)
		return ot_err_set(err, "cannot use CA file %s", r->ca_file);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(r->connect_timeout * 1000));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(r->total_timeout * 1000));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "oauthtop/" OT_VERSION);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, req_on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, req_on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	if (r->form.len) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->form.len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->form.buf); /* lives as long as r */
		curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, req_on_prereq);
		curl_easy_setopt(e, CURLOPT_PREREQDATA, r);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	if (share)
		curl_easy_setopt(e, CURLOPT_SHARE, share);
	return 0;
}

/* Allocates a request, taking over s's owned members. */
static ot_http_req *req_new(ot_http_spec *s, void *user)
{
	ot_http_req *r = calloc(1, sizeof(*r));

	if (!r) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	r->url = ot_strdup(s->url ? s->url : "");
	r->ca_file = ot_strdup(s->ca_file);
	r->authorization = s->authorization;
	r->basic_secret = s->basic_secret;
	r->form = s->form;
	r->connect_timeout = s->connect_timeout > 0 ? s->connect_timeout : 10;
	r->total_timeout = s->total_timeout > 0 ? s->total_timeout : 30;
	r->user = user;
	s->authorization = NULL;
	s->basic_secret = NULL;
	memset(&s->form, 0, sizeof(s->form));
	return r;
}

static void req_describe_error(const ot_http_req *r, char *out, size_t n);

static void req_finish(ot_http_req *r, CURLcode code)
{
	r->done = true;
	r->code = code;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (code == CURLE_WRITE_ERROR && r->truncated)
		r->code = CURLE_OK; /* our own cap: an answer, cut short */
	if (r->code != CURLE_OK)
		req_describe_error(r, r->msg, sizeof(r->msg));
}

static void pool_put(ot_http *h, CURL *e)
{
	if (h && h->n_pool < HTTP_POOL_MAX) {
		curl_easy_reset(e);
		h->pool[h->n_pool++] = e;
	} else {
		curl_easy_cleanup(e);
	}
}

static void list_unlink(ot_http *h, ot_http_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else if (h->reqs == r)
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static void done_unlink(ot_http *h, ot_http_req *r)
{
	ot_http_req **pp = &h->done_head, *prev = NULL;

	for (; *pp && *pp != r; pp = &(*pp)->done_next)
		prev = *pp;
	if (!*pp)
		return;
	*pp = r->done_next;
	if (h->done_tail == r)
		h->done_tail = prev;
	r->done_next = NULL;
	r->collected = false;
	h->n_done--;
}

void ot_http_req_free(ot_http_req *r)
{
	ot_http *h;

	if (!r)
		return;
	h = r->owner;
	if (h) {
		if (r->collected)
			done_unlink(h, r);
		if (r->attached) {
			curl_multi_remove_handle(h->multi, r->easy);
			h->attached--;
			h->kick = true; /* the next perform re-reads libcurl's running count */
		}
		list_unlink(h, r);
	}
	if (r->easy)
		pool_put(h, r->easy);
	req_wipe_headers(r->headers);
	curl_slist_free_all(r->headers);
	ot_secret_free(r->authorization);
	ot_secret_free(r->basic_secret);
	ot_form_clear(&r->form);
	if (r->resp) {
		ot_wipe(r->resp, r->resp_cap);
		free(r->resp);
	}
	free(r->url);
	free(r->ca_file);
	free(r->retry_after);
	free(r->rate_limit_reset);
	free(r);
}

/* --- results --- */

static void req_describe_error(const ot_http_req *r, char *out, size_t n)
{
	const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->code);
	long reqsize = 0;

	if (r->rewind_refused) {
		snprintf(out, n, "connection closed without an answer after the request was sent");
		return;
	}
	switch (r->code) {
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &reqsize);
		if (reqsize > 0)
			snprintf(out, n, "timeout after %lld s", (long long)r->total_timeout);
		else
			snprintf(out, n, "connect timeout after %lld s",
			         (long long)r->connect_timeout);
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		snprintf(out, n, "connection failed: %s", detail);
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
		snprintf(out, n, "TLS: %s", detail);
		return;
	case CURLE_GOT_NOTHING:
		snprintf(out, n, "empty reply from server");
		return;
	case CURLE_UNSUPPORTED_PROTOCOL:
		/* The URL's scheme was checked before sending: here libcurl says why the answer
		 * is not HTTP ("Received HTTP/0.9 when not allowed", "Unsupported response code
		 * in HTTP response"), or names a proxy it cannot speak to. */
		if (strstr(r->errbuf, "HTTP/0.9") || strstr(r->errbuf, "response"))
			snprintf(out, n, "not a valid HTTP answer: %s", r->errbuf);
		else
			snprintf(out, n, "unsupported protocol: %s", detail);
		return;
	case CURLE_OUT_OF_MEMORY:
		/* libcurl 7.88 says so, with no message, for a single header line over its
		 * 100 KB limit */
		snprintf(out, n, "%s",
		         r->errbuf[0] ? r->errbuf : "answer headers too large (or out of memory)");
		return;
	default:
		snprintf(out, n, "%s", detail);
		return;
	}
}

/* --- what a server may echo of what we sent --- */

/* Form fields whose values are not secret (left in a server's words). */
static bool redact_public_key(const char *key, size_t n)
{
	static const char *const keys[] = {"grant_type",      "client_id",    "scope",
	                                   "token_type_hint", "redirect_uri", "audience",
	                                   "resource"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i]) == n && memcmp(keys[i], key, n) == 0)
			return true;
	return false;
}

static int hex_val(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* A value as sent (percent-encoded; hex case ignored), decoded, and form-encoded with '+'
 * for spaces (how a server may re-encode it), all cut out of text. */
static void redact_value(char *text, size_t n, const char *enc, size_t len)
{
	char *raw = malloc(len + 1), *plus = malloc(len + 1);
	size_t o = 0;

	if (!raw || !plus) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	memcpy(plus, enc, len);
	plus[len] = '\0';
	ot_redact(text, n, plus, 1);
	for (size_t i = 0; i < len; i++) {
		int hi = i + 2 < len && enc[i] == '%' ? hex_val(enc[i + 1]) : -1;
		int lo = hi >= 0 ? hex_val(enc[i + 2]) : -1;
		if (hi >= 0 && lo >= 0) {
			raw[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			raw[o++] = enc[i];
		}
	}
	raw[o] = '\0';
	ot_redact(text, n, raw, 0);
	if (strstr(plus, "%20")) { /* "a%20b" -> "a+b" */
		size_t w = 0;
		for (size_t i = 0; i < len; i++) {
			if (strncmp(plus + i, "%20", 3) == 0) {
				plus[w++] = '+';
				i += 2;
			} else {
				plus[w++] = plus[i];
			}
		}
		plus[w] = '\0';
		ot_redact(text, n, plus, 1);
	}
	ot_wipe(raw, len + 1);
	ot_wipe(plus, len + 1);
	free(raw);
	free(plus);
}

/* The credential of the Authorization header (after its scheme), with and without its
 * base64 padding; the client secret inside a Basic credential, raw and form-encoded. */
static void redact_authorization(const ot_http_req *r, char *text, size_t n)
{
	const char *cred = r->authorization ? strchr(r->authorization, ' ') : NULL;

	if (cred) {
		size_t len = strlen(++cred);
		char *bare = ot_strdup(cred);
		while (len > 0 && bare[len - 1] == '=')
			bare[--len] = '\0';
		ot_redact(text, n, cred, 0);
		ot_redact(text, n, bare, 0);
		ot_secret_free(bare);
	}
	if (r->basic_secret) {
		ot_form f = {0};
		form_put_escaped(&f, r->basic_secret);
		redact_value(text, n, f.buf, f.len);
		ot_form_clear(&f);
	}
}

/* ot_http_result's redact: every secret value this request sent, in every form. */
static void req_redact(const void *ctx, char *text, size_t n)
{
	const ot_http_req *r = ctx;
	const char *p = r->form.buf;

	if (!text[0])
		return;
	redact_authorization(r, text, n);
	while (p && *p) {
		const char *amp = strchr(p, '&'), *eq = strchr(p, '=');
		const char *end = amp ? amp : p + strlen(p);
		if (eq && eq < end && !redact_public_key(p, (size_t)(eq - p)))
			redact_value(text, n, eq + 1, (size_t)(end - eq - 1));
		p = amp ? amp + 1 : end;
	}
}

void ot_http_req_result(const ot_http_req *r, ot_http_result *out)
{
	memset(out, 0, sizeof(*out));
	if (!r->done) {
		out->transport_error = CURLE_ABORTED_BY_CALLBACK;
		out->transport_msg = "request abandoned";
		return;
	}
	if (r->code != CURLE_OK) {
		out->transport_error = (int)r->code;
		out->transport_msg = r->msg;
	}
	out->status = r->status;
	out->body = r->resp ? r->resp : "";
	out->body_len = r->resp_len;
	out->body_truncated = r->truncated;
	out->retry_after = r->retry_after;
	out->rate_limit_reset = r->rate_limit_reset;
	out->redact = req_redact;
	out->redact_ctx = r;
}

bool ot_http_req_answer_lost(const ot_http_req *r)
{
	long reqsize = 0;

	if (!r->done)
		return true;
	if (r->code == CURLE_OK)
		return r->truncated;
	if (r->rewind_refused)
		return true;
	/* Headers and body leave in one send: any of it out is all of it in the socket. */
	curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &reqsize);
	return reqsize > 0;
}

void *ot_http_req_user(const ot_http_req *r)
{
	return r->user;
}

double ot_http_req_seconds(const ot_http_req *r)
{
	curl_off_t us = 0;

	if (r->easy)
		curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &us);
	return (double)us / 1e6;
}

/* --- the multi handle --- */

/* libcurl's own memory is wiped when it frees it: its request buffer holds the form body
 * (refresh token, client secret with client_secret_post) and its receive buffers the answer
 * (new tokens); a freed block would otherwise keep them in the heap until reused. A block
 * that grows moves to a new one and the old one is wiped; one that shrinks stays (the whole
 * block is wiped when it is freed). glibc: malloc_usable_size() is the block's size. */
static void http_mem_free(void *p)
{
	if (!p)
		return;
	ot_wipe(p, malloc_usable_size(p));
	free(p);
}

static void *http_mem_realloc(void *p, size_t n)
{
	size_t have;
	void *q;

	if (!p)
		return malloc(n);
	have = malloc_usable_size(p);
	if (n <= have && n > 0)
		return p;
	q = malloc(n ? n : 1);
	if (!q)
		return NULL;
	memcpy(q, p, have < n ? have : n);
	http_mem_free(p);
	return q;
}

static int http_global_init(ot_err *err)
{
	static int done;

	if (done)
		return 0;
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, http_mem_free, http_mem_realloc,
	                         strdup, calloc) != CURLE_OK)
		return ot_err_set(err, "libcurl initialisation failed");
	done = 1;
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libcurl's socket callback: mirrors what it wants watched into the epoll set. */
static int http_on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	ot_http *h = userp;
	struct epoll_event ev;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, fd, NULL);
		curl_multi_assign(h->multi, fd, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
	ev.data.fd = fd;
	if (!socketp || epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
		/* new to us, or a descriptor number reused after a close epoll saw first */
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 &&
		    (errno != EEXIST || epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &ev) < 0))
			return -1; /* unwatchable (no memory, watch limit): libcurl fails it */
		curl_multi_assign(h->multi, fd, h);
	}
	return 0;
}

/* libcurl's timer callback: when it next wants a timeout action (-1: never). */
static int http_on_timer(CURLM *m, long timeout_ms, void *userp)
{
	ot_http *h = userp;

	(void)m;
	h->deadline_ms = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	return 0;
}

static int http_open_events(ot_http *h, ot_err *err)
{
	struct epoll_event ev;

	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->epfd < 0 || h->wakefd < 0)
		return ot_err_set(err, "cannot create an event set: %s", strerror(errno));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = h->wakefd;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->wakefd, &ev) < 0)
		return ot_err_set(err, "cannot create an event set: %s", strerror(errno));
	return 0;
}

ot_http *ot_http_new(int max_connections, ot_err *err)
{
	ot_http *h;

	if (http_global_init(err) < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		ot_err_set(err, "out of memory");
		return NULL;
	}
	h->epfd = h->wakefd = -1;
	h->deadline_ms = -1;
	h->multi = curl_multi_init();
	h->share = curl_share_init();
	if (!h->multi || !h->share) {
		ot_err_set(err, "libcurl: cannot create handles");
		ot_http_free(h);
		return NULL;
	}
	if (http_open_events(h, err) < 0) {
		ot_http_free(h);
		return NULL;
	}
	/* One thread uses the share, so it needs no lock callbacks. */
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	if (max_connections < 1)
		max_connections = 1;
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_connections);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_connections);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)max_connections);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_on_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_on_timer);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

void ot_http_free(ot_http *h)
{
	if (!h)
		return;
	while (h->reqs)
		ot_http_req_free(h->reqs);
	while (h->n_pool > 0)
		curl_easy_cleanup(h->pool[--h->n_pool]);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	if (h->share)
		curl_share_cleanup(h->share);
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->wakefd >= 0)
		close(h->wakefd);
	free(h);
}

static CURL *pool_get(ot_http *h)
{
	if (h && h->n_pool > 0)
		return h->pool[--h->n_pool];
	return curl_easy_init();
}

ot_http_req *ot_http_start(ot_http *h, ot_http_spec *s, void *user, ot_err *err)
{
	ot_http_req *r = req_new(s, user);

	r->owner = h;
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
	r->easy = pool_get(h);
	if (!r->easy) {
		ot_err_set(err, "libcurl: cannot create a transfer");
		ot_http_req_free(r);
		return NULL;
	}
	if (req_setup(r, h->share, err) < 0) {
		ot_http_req_free(r);
		return NULL;
	}
	if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
		ot_err_set(err, "libcurl: cannot start a transfer");
		ot_http_req_free(r);
		return NULL;
	}
	r->attached = true;
	h->attached++;
	h->kick = true;
	return r;
}

static void http_act(ot_http *h, curl_socket_t fd, int mask)
{
	int running = h->running;

	curl_multi_socket_action(h->multi, fd, mask, &running);
	h->running = running;
}

/* Hands the ready sockets to libcurl (the wakeup counter is drained). */
static void http_dispatch(ot_http *h, const struct epoll_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		uint32_t e = ev[i].events;
		int mask = 0;
		if (ev[i].data.fd == h->wakefd) {
			uint64_t v;
			if (read(h->wakefd, &v, sizeof(v)) < 0) { /* EAGAIN: drained already */
			}
			continue;
		}
		/* An error or a hang-up is handed over as readable: libcurl's read finds out
		 * what happened (a final answer may still be waiting in the buffer). */
		if (e & (EPOLLIN | EPOLLERR | EPOLLHUP))
			mask |= CURL_CSELECT_IN;
		if (e & EPOLLOUT)
			mask |= CURL_CSELECT_OUT;
		http_act(h, ev[i].data.fd, mask);
	}
}

int ot_http_perform(ot_http *h)
{
	struct epoll_event ev[HTTP_EVENTS];
	int n;

	if (h->n_pending) { /* libcurl's callbacks never wait, so pending stays as it is */
		n = h->n_pending;
		h->n_pending = 0;
		http_dispatch(h, h->pending, n);
	}
	for (int round = 0; round < 8; round++) {
		n = epoll_wait(h->epfd, ev, HTTP_EVENTS, 0);
		if (n <= 0)
			break;
		http_dispatch(h, ev, n);
		if (n < HTTP_EVENTS)
			break;
	}
	if (h->kick || (h->deadline_ms >= 0 && mono_ms() >= h->deadline_ms)) {
		long next = -1;
		h->kick = false;
		http_act(h, CURL_SOCKET_TIMEOUT, 0);
		/* libcurl calls the timer back only when its deadline changes: one that fired a
		 * little early (whole milliseconds) must not keep saying "now" */
		curl_multi_timeout(h->multi, &next);
		h->deadline_ms = next < 0 ? -1 : mono_ms() + next;
	}
	return h->running;
}

int ot_http_finished_waiting(const ot_http *h)
{
	return (h->attached > h->running ? h->attached - h->running : 0) + (int)h->n_done;
}

/* Detaches one finished transfer from the multi handle, or NULL. */
static ot_http_req *http_take_done(ot_http *h)
{
	CURLMsg *m;
	int left = 0;

	while ((m = curl_multi_info_read(h->multi, &left))) {
		ot_http_req *r = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (!r)
			continue;
		req_finish(r, m->data.result);
		curl_multi_remove_handle(h->multi, r->easy);
		r->attached = false;
		h->attached--;
		return r;
	}
	return NULL;
}

size_t ot_http_collect(ot_http *h)
{
	ot_http_req *r;

	while ((r = http_take_done(h))) {
		r->collected = true;
		r->done_next = NULL;
		if (h->done_tail)
			h->done_tail->done_next = r;
		else
			h->done_head = r;
		h->done_tail = r;
		h->n_done++;
	}
	return h->n_done;
}

ot_http_req *ot_http_collected(const ot_http *h, const ot_http_req *after)
{
	return after ? after->done_next : h->done_head;
}

ot_http_req *ot_http_next_done(ot_http *h)
{
	ot_http_req *r = h->done_head;

	if (!r)
		return http_take_done(h);
	h->done_head = r->done_next;
	if (!h->done_head)
		h->done_tail = NULL;
	r->done_next = NULL;
	r->collected = false;
	h->n_done--;
	return r;
}

long ot_http_timeout_ms(ot_http *h)
{
	int64_t left;

	if (h->kick)
		return 0;
	if (h->deadline_ms < 0)
		return -1;
	left = h->deadline_ms - mono_ms();
	return left > 0 ? (long)left : 0;
}

/* Bounds timeout_ms by libcurl's timer. */
static int http_wait_ms(ot_http *h, int timeout_ms)
{
	long t = ot_http_timeout_ms(h);

	if (timeout_ms < 0)
		timeout_ms = 1000;
	if (t >= 0 && t < timeout_ms)
		timeout_ms = (int)t;
	return timeout_ms;
}

int ot_http_wait(ot_http *h, struct pollfd *extra, unsigned n_extra, int timeout_ms)
{
	struct pollfd local[17];
	struct pollfd *fds = local;
	int ready = 0;

	timeout_ms = http_wait_ms(h, timeout_ms);
	if (n_extra == 0) { /* the headless commands: wait on the event set itself */
		int n = epoll_wait(h->epfd, h->pending, HTTP_EVENTS, timeout_ms);
		h->n_pending = n > 0 ? n : 0;
		return 0;
	}
	if (n_extra > 16 && !(fds = calloc(n_extra + 1, sizeof(*fds)))) {
		fds = local;
		n_extra = 16;
	}
	fds[0].fd = h->epfd;
	fds[0].events = POLLIN;
	fds[0].revents = 0;
	for (unsigned i = 0; i < n_extra; i++) {
		fds[i + 1] = extra[i];
		fds[i + 1].revents = 0;
	}
	poll(fds, n_extra + 1, timeout_ms);
	for (unsigned i = 0; i < n_extra; i++) {
		extra[i].revents = fds[i + 1].revents;
		if (extra[i].revents)
			ready++;
	}
	if (fds != local)
		free(fds);
	return ready;
}

/* Async-signal-safe: one write(2). */
void ot_http_wakeup(ot_http *h)
{
	uint64_t one = 1;

	if (write(h->wakefd, &one, sizeof(one)) < 0) { /* the counter is full: awake anyway */
	}
}

ot_http_req *ot_http_fetch(ot_http_spec *s, ot_err *err)
{
	ot_http_req *r;

	if (http_global_init(err) < 0) {
		ot_http_spec_clear(s);
		return NULL;
	}
	r = req_new(s, NULL);
	r->easy = curl_easy_init();
	if (!r->easy) {
		ot_err_set(err, "libcurl: cannot create a transfer");
		ot_http_req_free(r);
		return NULL;
	}
	if (req_setup(r, NULL, err) < 0) {
		ot_http_req_free(r);
		return NULL;
	}
	req_finish(r, curl_easy_perform(r->easy));
	return r;
}
