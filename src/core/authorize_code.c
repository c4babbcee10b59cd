/* authorize_code.c - the authorization code grant with PKCE S256 (RFC 7636) on a loopback
 * redirect (RFC 8252 §7.3): listen on 127.0.0.1 (random port unless configured), build the
 * authorization URL, serve exactly one redirect to /callback after checking `state` (and
 * `iss`, RFC 9207, when the provider has an issuer), close, exchange the code. */
#include "core/authorize_int.h"
#include "core/b64.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "oauthtop/secret.h"

#define CODE_TIMEOUT_DFLT 300
#define CODE_PATH         "/callback"

/* ---- PKCE and state ----------------------------------------------------------------- */

/* n random bytes, base64url without padding, into out (at least 4 * n / 3 + 2 bytes). */
static int code_random(char *out, size_t n)
{
	unsigned char buf[48];
	size_t got = 0;

	if (n > sizeof(buf))
		return -1;
	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0)
			got += (size_t)r;
	}
	ot_b64_encode(buf, n, 1, out);
	ot_wipe(buf, sizeof(buf));
	return 0;
}

/* code_challenge = BASE64URL(SHA256(ASCII(code_verifier))), RFC 7636 §4.2. */
static int code_challenge(const char *verifier, char out[64])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -1;
	ot_b64_encode(md, mdlen, 1, out);
	return 0;
}

/* ---- the listener ------------------------------------------------------------------- */

static int code_listen(ot_auth *x, int port, ot_err *err)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1;

	x->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->listen_fd < 0)
		return ot_err_set(err, "socket: %s", strerror(errno));
	setsockopt(x->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (bind(x->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(x->listen_fd, 4) < 0 ||
	    getsockname(x->listen_fd, (struct sockaddr *)&sa, &len) < 0)
		return ot_err_set(err, "cannot listen on 127.0.0.1:%d for the redirect: %s", port,
		                  strerror(errno));
	snprintf(x->redirect_uri, sizeof(x->redirect_uri), "http://127.0.0.1:%u" CODE_PATH,
	         (unsigned)ntohs(sa.sin_port));
	return 0;
}

static void code_close_conn(ot_auth *x)
{
	if (x->conn_fd >= 0)
		close(x->conn_fd);
	x->conn_fd = -1;
	ot_wipe(x->rbuf, sizeof(x->rbuf));
	x->rlen = 0;
}

void code_close(ot_auth *x)
{
	code_close_conn(x);
	if (x->listen_fd >= 0)
		close(x->listen_fd);
	x->listen_fd = -1;
}

/* OpenID Connect §11: offline_access needs prompt=consent (and Google re-issues a refresh
 * token only with it). */
static int code_scope_has(const char *scope, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = scope; (p = strstr(p, word)); p += n)
		if ((p == scope || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
	return 0;
}

static void code_build_url(ot_auth *x, const char *challenge)
{
	const ot_provider *p = x->a->provider;
	ot_form q = {0};
	size_t n;

	ot_form_add(&q, "response_type", "code");
	ot_form_add(&q, "client_id", p->client_id);
	ot_form_add(&q, "redirect_uri", x->redirect_uri);
	ot_form_add(&q, "scope", x->scope);
	ot_form_add(&q, "state", x->state_param);
	ot_form_add(&q, "code_challenge", challenge);
	ot_form_add(&q, "code_challenge_method", "S256");
	if (code_scope_has(x->scope, "offline_access"))
		ot_form_add(&q, "prompt", "consent");
	auth_add_extra(p, &q);
	n = strlen(p->authorization_url) + 1 + q.len + 1;
	x->authorization_url = malloc(n);
	if (!x->authorization_url) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	snprintf(x->authorization_url, n, "%s%c%s", p->authorization_url,
	         strchr(p->authorization_url, '?') ? '&' : '?', q.buf);
	ot_form_clear(&q);
}

int code_start(ot_auth *x, const ot_auth_opts *o, int64_t now, ot_err *err)
{
	char challenge[64];
	int port = o->redirect_port > 0 ? o->redirect_port : x->a->provider->redirect_port;

	if (code_listen(x, port, err) < 0)
		return -1;
	if (code_random(x->state_param, 24) < 0 || code_random(x->verifier, 32) < 0 ||
	    code_challenge(x->verifier, challenge) < 0)
		return ot_err_set(err, "cannot draw random numbers for PKCE: %s", strerror(errno));
	code_build_url(x, challenge);
	x->timeout = o->timeout > 0 ? o->timeout : CODE_TIMEOUT_DFLT;
	x->deadline = now + x->timeout;
	x->state = OT_AUTH_WAITING;
	snprintf(x->message, sizeof(x->message), "waiting for the browser's redirect to %s",
	         x->redirect_uri);
	return 0;
}

/* ---- one request -------------------------------------------------------------------- */

static void code_respond(ot_auth *x, int status, const char *text)
{
	char buf[1024];
	char body[512];
	int bn, n;
	const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request";

	bn = snprintf(body, sizeof(body),
	              "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>oauthtop</title>"
	              "</head><body><p>%s</p></body></html>\n",
	              text);
	n = snprintf(buf, sizeof(buf),
	             "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
	             "Cache-Control: no-store\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
	             status, reason, bn, body);
	for (int off = 0; off < n;) {
		ssize_t w = send(x->conn_fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (int)w;
	}
	shutdown(x->conn_fd, SHUT_WR);
	code_close_conn(x);
}

static int code_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Finds parameter name in the query q (up to end) and decodes it into out (form rules: %XX
 * and '+'). Returns 1 found, 0 not found or too long. */
static int code_param(const char *q, const char *end, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);

	while (q && q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *stop = amp ? amp : end;
		if ((size_t)(stop - q) > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
			size_t o = 0;
			for (const char *p = q + nl + 1; p < stop; p++) {
				int c = (unsigned char)*p;
				if (c == '%' && stop - p > 2 && code_hex(p[1]) >= 0 &&
				    code_hex(p[2]) >= 0) {
					c = code_hex(p[1]) * 16 + code_hex(p[2]);
					p += 2;
				} else if (c == '+') {
					c = ' ';
				}
				if (o + 1 >= n)
					return 0;
				out[o++] = (char)c;
			}
			out[o] = '\0';
			return 1;
		}
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

/* Printable ASCII only, for server text shown in a message. */
static void code_clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void code_exchange(ot_auth *x, const char *code, int64_t now)
{
	const ot_provider *p = x->a->provider;
	ot_http_spec s = {0};

	s.url = p->token_url;
	ot_form_add(&s.form, "grant_type", "authorization_code");
	ot_form_add(&s.form, "code", code);
	ot_form_add(&s.form, "redirect_uri", x->redirect_uri);
	ot_form_add(&s.form, "code_verifier", x->verifier);
	auth_add_extra(p, &s.form);
	ot_http_client_auth(p, &s);
	ot_wipe(x->verifier, sizeof(x->verifier));
	x->state = OT_AUTH_EXCHANGING;
	snprintf(x->message, sizeof(x->message), "exchanging the code at %s", p->token_url);
	auth_send(x, &s, now);
}

/* The redirect to /callback: check and act. q..end is the query string. */
static void code_on_redirect(ot_auth *x, const char *q, const char *end, int64_t now)
{
	char state[256], iss[512], error[64], desc[160], code[2048];
	const char *issuer = x->a->provider->issuer;
	int has_iss = code_param(q, end, "iss", iss, sizeof(iss));

	if (!code_param(q, end, "state", state, sizeof(state)) ||
	    strcmp(state, x->state_param) != 0) {
		code_respond(x, 400,
		             "oauthtop: this redirect does not belong to the pending "
		             "authorization (state mismatch). Nothing was stored.");
		code_close(x);
		auth_finish(x, OT_AUTH_FAILED, "state_mismatch",
		            "refused a redirect whose state does not match this authorization "
		            "request (a forged or stale redirect); nothing stored");
		return;
	}
	if (has_iss && issuer && strcmp(iss, issuer) != 0) {
		code_respond(x, 400,
		             "oauthtop: the redirect names another issuer. Nothing was "
		             "stored.");
		code_close(x);
		code_clean(iss);
		auth_finish(x, OT_AUTH_FAILED, "issuer_mismatch",
		            "refused a redirect from issuer \"%.200s\" (expected %.200s, RFC 9207)",
		            iss, issuer);
		return;
	}
	if (code_param(q, end, "error", error, sizeof(error))) {
		if (!code_param(q, end, "error_description", desc, sizeof(desc)))
			desc[0] = '\0';
		code_clean(error);
		code_clean(desc);
		code_respond(x, 200,
		             "oauthtop: the authorization was not granted. You can close "
		             "this window; the terminal says why.");
		code_close(x);
		auth_finish(
		        x, strcmp(error, "access_denied") == 0 ? OT_AUTH_DENIED : OT_AUTH_FAILED,
		        error, "authorization refused: %s%s%s", error, desc[0] ? ": " : "", desc);
		return;
	}
	if (!code_param(q, end, "code", code, sizeof(code)) || !code[0]) {
		code_respond(x, 400, "oauthtop: the redirect carries no code.");
		code_close(x);
		auth_finish(x, OT_AUTH_FAILED, NULL, "the redirect carries neither code nor error");
		return;
	}
	code_respond(x, 200, "oauthtop: authorization received. You can close this window.");
	code_close(x);
	code_exchange(x, code, now);
	ot_wipe(code, sizeof(code));
}

/* A complete request head is in rbuf: serve it. Only GET /callback counts. */
static void code_on_request(ot_auth *x, int64_t now)
{
	char *line_end = strstr(x->rbuf, "\r\n");
	char *target, *sp, *qm;

	*line_end = '\0';
	target = strchr(x->rbuf, ' ');
	sp = target ? strchr(target + 1, ' ') : NULL;
	if (strncmp(x->rbuf, "GET ", 4) != 0 || !sp) {
		code_respond(x, 400, "oauthtop: bad request.");
		return;
	}
	target++;
	*sp = '\0';
	qm = strchr(target, '?');
	if (strncmp(target, CODE_PATH, strlen(CODE_PATH)) != 0 ||
	    (target[strlen(CODE_PATH)] != '\0' && target[strlen(CODE_PATH)] != '?')) {
		code_respond(x, 404, "oauthtop: not found.");
		return;
	}
	code_on_redirect(x, qm ? qm + 1 : sp, sp, now);
}

static void code_read(ot_auth *x, int64_t now)
{
	for (;;) {
		ssize_t r = recv(x->conn_fd, x->rbuf + x->rlen, sizeof(x->rbuf) - 1 - x->rlen, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			code_close_conn(x); /* closed before a whole request: keep listening */
			return;
		}
		if (r < 0)
			break;
		x->rlen += (size_t)r;
		x->rbuf[x->rlen] = '\0';
		if (strstr(x->rbuf, "\r\n\r\n")) {
			code_on_request(x, now);
			return;
		}
		if (x->rlen + 1 >= sizeof(x->rbuf)) {
			code_respond(x, 400, "oauthtop: request too large.");
			return;
		}
	}
	if (now > x->conn_deadline)
		code_close_conn(x);
}

void code_tick(ot_auth *x, int64_t now)
{
	if (x->state != OT_AUTH_WAITING)
		return;
	if (x->conn_fd < 0 && x->listen_fd >= 0) {
		x->conn_fd = accept4(x->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (x->conn_fd >= 0) {
			x->rlen = 0;
			x->conn_deadline = now + AUTH_CONN_WAIT;
		}
	}
	if (x->conn_fd >= 0)
		code_read(x, now);
	if (x->state == OT_AUTH_WAITING && now >= x->deadline) {
		code_close(x);
		auth_finish(x, OT_AUTH_EXPIRED, NULL,
		            "no redirect came within %lld s: run `oauthtop authorize %s` again",
		            (long long)x->timeout, x->a->name);
	}
}
