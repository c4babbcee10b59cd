/* test_http.c - the token request as built by the HTTP client: form encoding, client
 * authentication (RFC 6749 §2.3.1), what is sent and what is not, refused URLs; the
 * non-blocking driver (epoll under libcurl's socket interface): wakeups, the caller's own
 * descriptors, transfers against a socket this test answers by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/b64.h"
#include "core/http.h"

static ot_provider provider(ot_auth_method m, const char *id, const char *secret)
{
	ot_provider p;

	memset(&p, 0, sizeof(p));
	p.name = "p";
	p.token_url = "https://idp.example/token";
	p.client_id = id;
	p.client_secret = secret;
	p.auth_method = m;
	p.max_concurrency = 8;
	return p;
}

static ot_account account(const ot_provider *p, ot_grant g, const char *scope)
{
	ot_account a;

	memset(&a, 0, sizeof(a));
	a.name = "acct";
	a.provider = p;
	a.grant = g;
	a.scope = scope;
	a.enabled = true;
	return a;
}

/* Decodes standard base64 (test helper; no validation beyond the alphabet). */
static size_t b64_decode(const char *in, unsigned char *out)
{
	static const char tab[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned v = 0;
	int bits = 0;
	size_t n = 0;

	for (; *in && *in != '='; in++) {
		const char *p = strchr(tab, *in);
		assert_non_null(p);
		v = v << 6 | (unsigned)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	out[n] = '\0';
	return n;
}

static void test_form_encoding(void **state)
{
	ot_form f = {0};

	(void)state;
	ot_form_add(&f, "grant_type", "refresh_token");
	ot_form_add(&f, "refresh_token", "a+b/c=d%e&f g~h.i_j-k");
	ot_form_add(&f, "empty", "");
	assert_string_equal(f.buf,
	                    "grant_type=refresh_token&refresh_token=a%2Bb%2Fc%3Dd%25e%26f%20g"
	                    "~h.i_j-k&empty=");
	assert_int_equal(f.len, strlen(f.buf));
	ot_form_clear(&f);
	assert_null(f.buf);
	/* Large values grow the buffer (tokens have no fixed size). */
	{
		char *big = malloc(5001);
		assert_non_null(big);
		memset(big, 'x', 5000);
		big[5000] = '\0';
		ot_form_add(&f, "refresh_token", big);
		assert_int_equal(f.len, strlen("refresh_token=") + 5000);
		free(big);
		ot_form_clear(&f);
	}
}

static void test_basic_auth_encodes_before_base64(void **state)
{
	ot_provider p = provider(OT_AUTH_BASIC, "my client", "p+s/=%:x&y");
	ot_account a = account(&p, OT_GRANT_REFRESH_TOKEN, NULL);
	ot_http_spec s;
	ot_err err;
	unsigned char dec[256];

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&a, "RT1", 10, 30, &s, &err), 0);
	assert_non_null(s.authorization);
	assert_memory_equal(s.authorization, "Basic ", 6);
	b64_decode(s.authorization + 6, dec);
	assert_string_equal((char *)dec, "my%20client:p%2Bs%2F%3D%25%3Ax%26y");
	/* Basic: neither the id nor the secret in the body. */
	assert_string_equal(s.form.buf, "grant_type=refresh_token&refresh_token=RT1");
	assert_string_equal(s.url, "https://idp.example/token");
	assert_int_equal(s.total_timeout, 30);
	ot_http_spec_clear(&s);
	assert_null(s.authorization);
}

static void test_post_and_none(void **state)
{
	ot_provider p = provider(OT_AUTH_POST, "cid", "se cret");
	ot_provider q = provider(OT_AUTH_NONE, "pub", NULL);
	ot_account a = account(&p, OT_GRANT_REFRESH_TOKEN, NULL);
	ot_account b = account(&q, OT_GRANT_REFRESH_TOKEN, NULL);
	ot_http_spec s;
	ot_err err;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&a, "RT", 10, 30, &s, &err), 0);
	assert_null(s.authorization);
	assert_string_equal(s.form.buf, "grant_type=refresh_token&refresh_token=RT&client_id=cid"
	                                "&client_secret=se%20cret");
	ot_http_spec_clear(&s);
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&b, "RT", 10, 30, &s, &err), 0);
	assert_null(s.authorization);
	assert_string_equal(s.form.buf, "grant_type=refresh_token&refresh_token=RT&client_id=pub");
	assert_null(strstr(s.form.buf, "client_secret"));
	ot_http_spec_clear(&s);
}

static void test_scope_extra_params_and_client_credentials(void **state)
{
	ot_provider p = provider(OT_AUTH_BASIC, "c", "s");
	ot_kv extra[] = {{"audience", "https://api/x"}, {"resource", "r 1"}};
	ot_account a, cc;
	ot_http_spec s;
	ot_err err;

	(void)state;
	p.extra_params = extra;
	p.n_extra_params = 2;
	a = account(&p, OT_GRANT_REFRESH_TOKEN, "read write");
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&a, "RT", 10, 30, &s, &err), 0);
	assert_string_equal(s.form.buf,
	                    "grant_type=refresh_token&refresh_token=RT&scope=read%20write"
	                    "&audience=https%3A%2F%2Fapi%2Fx&resource=r%201");
	ot_http_spec_clear(&s);
	/* client_credentials: no refresh token involved, scope only when set. */
	cc = account(&p, OT_GRANT_CLIENT_CREDENTIALS, NULL);
	p.n_extra_params = 0;
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&cc, NULL, 10, 30, &s, &err), 0);
	assert_string_equal(s.form.buf, "grant_type=client_credentials");
	assert_non_null(s.authorization);
	ot_http_spec_clear(&s);
}

static void test_refusals(void **state)
{
	ot_provider p = provider(OT_AUTH_BASIC, "c", "s");
	ot_account a = account(&p, OT_GRANT_REFRESH_TOKEN, NULL);
	ot_http_spec s;
	ot_err err;

	(void)state;
	memset(&s, 0, sizeof(s));
	/* No refresh token: nothing to send. */
	assert_int_equal(ot_http_token_spec(&a, NULL, 10, 30, &s, &err), -1);
	assert_non_null(strstr(err.msg, "no refresh token"));
	assert_int_equal(ot_http_token_spec(&a, "", 10, 30, &s, &err), -1);
	ot_http_spec_clear(&s);
	/* Plain http only to loopback. */
	p.token_url = "http://idp.example/token";
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&a, "RT", 10, 30, &s, &err), -1);
	assert_non_null(strstr(err.msg, "https"));
	ot_http_spec_clear(&s);
	p.token_url = "http://127.0.0.1:8080/token";
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&a, "RT", 10, 30, &s, &err), 0);
	ot_http_spec_clear(&s);
	p.token_url = NULL;
	memset(&s, 0, sizeof(s));
	assert_int_equal(ot_http_token_spec(&a, "RT", 10, 30, &s, &err), -1);
	ot_http_spec_clear(&s);
}

/* A request to a port nobody listens on fails as a transport error, before anything was
 * sent (so it is not a lost answer). */
static void test_fetch_refused(void **state)
{
	ot_http_spec s;
	ot_err err;
	ot_http_req *r;
	ot_http_result res;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.url = "http://127.0.0.1:1/token";
	s.connect_timeout = 2;
	s.total_timeout = 2;
	ot_form_add(&s.form, "grant_type", "refresh_token");
	r = ot_http_fetch(&s, &err);
	assert_non_null(r);
	assert_null(s.form.buf); /* taken over */
	ot_http_req_result(r, &res);
	assert_int_not_equal(res.transport_error, 0);
	assert_non_null(strstr(res.transport_msg, "connection failed"));
	assert_int_equal(res.status, 0);
	assert_false(ot_http_req_answer_lost(r));
	ot_http_req_free(r);
}

static void test_protocols_restricted(void **state)
{
	ot_http_spec s;
	ot_err err;
	ot_http_req *r;
	ot_http_result res;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.url = "file:///etc/passwd";
	r = ot_http_fetch(&s, &err);
	assert_non_null(r);
	ot_http_req_result(r, &res);
	assert_int_not_equal(res.transport_error, 0);
	assert_int_equal(res.body_len, 0);
	ot_http_req_free(r);
}


/* --- the non-blocking driver --- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A wakeup ends a long wait at once, and only one wait: after ot_http_perform() has drained
 * it, the next wait lasts its timeout again. */
static void test_wakeup(void **state)
{
	ot_err err;
	ot_http *h = ot_http_new(4, &err);
	int64_t t0;

	(void)state;
	assert_non_null(h);
	assert_int_equal(ot_http_timeout_ms(h), -1); /* nothing to do */
	ot_http_wakeup(h);
	ot_http_wakeup(h);
	t0 = now_ms();
	ot_http_wait(h, NULL, 0, 5000);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(ot_http_perform(h), 0);
	t0 = now_ms();
	ot_http_wait(h, NULL, 0, 300);
	assert_true(now_ms() - t0 >= 250);
	ot_http_free(h);
}

/* The caller's descriptors are watched beside libcurl's and reported ready. */
static void test_extra_descriptors(void **state)
{
	ot_err err;
	ot_http *h = ot_http_new(4, &err);
	int p[2];
	struct pollfd pf[2];
	int64_t t0;

	(void)state;
	assert_non_null(h);
	assert_int_equal(pipe(p), 0);
	memset(pf, 0, sizeof(pf));
	pf[0].fd = p[0];
	pf[0].events = POLLIN;
	pf[1].fd = -1; /* ignored, as poll(2) does */
	t0 = now_ms();
	assert_int_equal(ot_http_wait(h, pf, 2, 200), 0);
	assert_true(now_ms() - t0 >= 150);
	assert_int_equal(write(p[1], "x", 1), 1);
	t0 = now_ms();
	assert_int_equal(ot_http_wait(h, pf, 2, 5000), 1);
	assert_true(pf[0].revents & POLLIN);
	assert_true(now_ms() - t0 < 1000);
	/* a wakeup ends a wait on descriptors too, none of them ready */
	memset(pf, 0, sizeof(pf));
	pf[0].fd = p[1];
	pf[0].events = POLLPRI;
	ot_http_wakeup(h);
	t0 = now_ms();
	assert_int_equal(ot_http_wait(h, pf, 1, 5000), 0);
	assert_true(now_ms() - t0 < 1000);
	close(p[0]);
	close(p[1]);
	ot_http_free(h);
}

static int listen_loopback(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A scripted server on lfd, run from the client's own loop: the k-th request it receives
 * (all connections together) gets answers[k], or, past the end of answers or at a NULL
 * entry, a hang-up once the whole request is in. */
typedef struct fake_server {
	int lfd;
	const char *const *answers;
	int n_answers;
	int requests; /* whole requests received */
	bool stall;   /* past the end of answers: keep the connection, answer nothing */
	int conns[8], n_conns;
	char buf[8][4096];
	size_t got[8];
} fake_server;

/* A whole request: headers and the body, which ends with the refresh token start() sends. */
static bool request_complete(const char *b, size_t n)
{
	static const char tail[] = "refresh_token=rt-secret";

	return strstr(b, "\r\n\r\n") && n >= sizeof(tail) - 1 &&
	       memcmp(b + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1) == 0;
}

static void server_serve(fake_server *sv, int i)
{
	const char *a = sv->requests < sv->n_answers ? sv->answers[sv->requests] : NULL;

	if (!a && sv->stall && sv->requests >= sv->n_answers) {
		sv->requests++;
		sv->got[i] = 0;
		return;
	}
	sv->requests++;
	sv->got[i] = 0;
	if (a) {
		assert_true(write(sv->conns[i], a, strlen(a)) > 0);
		return; /* kept alive */
	}
	close(sv->conns[i]);
	sv->conns[i] = -1;
}

static void server_step(fake_server *sv)
{
	int c;

	while (sv->n_conns < 8 && (c = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0)
		sv->conns[sv->n_conns++] = c;
	for (int i = 0; i < sv->n_conns; i++) {
		ssize_t k;
		if (sv->conns[i] < 0)
			continue;
		k = read(sv->conns[i], sv->buf[i] + sv->got[i], sizeof(sv->buf[i]) - 1 - sv->got[i]);
		if (k <= 0)
			continue;
		sv->got[i] += (size_t)k;
		sv->buf[i][sv->got[i]] = '\0';
		if (request_complete(sv->buf[i], sv->got[i]))
			server_serve(sv, i);
	}
}

static void server_init(fake_server *sv, int lfd, const char *const *answers, int n_answers)
{
	memset(sv, 0, sizeof(*sv));
	sv->lfd = lfd;
	sv->answers = answers;
	sv->n_answers = n_answers;
}

static void server_close(fake_server *sv)
{
	for (int i = 0; i < sv->n_conns; i++)
		if (sv->conns[i] >= 0)
			close(sv->conns[i]);
	sv->n_conns = 0;
}

/* Drives h and the server until done requests have finished (queued for
 * ot_http_next_done()). Waits are long (2 s) and see the server's sockets, so a loopback
 * exchange that takes more than a second was driven by libcurl's timers, not by the events
 * it asked to watch: a failure. */
static void drive_server(ot_http *h, fake_server *sv, int done)
{
	int finished = 0, waiting = 0;
	int64_t start = now_ms(), end = start + 5000;

	while (finished < done && now_ms() < end) {
		struct pollfd pf[9];
		unsigned n = 1;
		pf[0] = (struct pollfd){.fd = sv->lfd, .events = POLLIN};
		for (int i = 0; i < sv->n_conns; i++)
			if (sv->conns[i] >= 0)
				pf[n++] = (struct pollfd){.fd = sv->conns[i], .events = POLLIN};
		ot_http_wait(h, pf, n, 2000);
		ot_http_perform(h);
		server_step(sv);
		ot_http_perform(h);
		if (ot_http_finished_waiting(h) > 0)
			waiting = 1;
		finished = (int)ot_http_collect(h);
	}
	assert_int_equal(finished, done);
	assert_true(waiting); /* ot_http_finished_waiting() said so before the collect */
	assert_true(now_ms() - start < 1000);
}

/* The same with every request getting answer (NULL: a hang-up). */
static void drive(ot_http *h, int lfd, const char *answer, int done)
{
	const char *const answers[8] = {answer, answer, answer, answer,
	                                answer, answer, answer, answer};
	fake_server sv;

	server_init(&sv, lfd, answers, answer ? 8 : 0);
	drive_server(h, &sv, done);
	server_close(&sv);
}

/* A refresh request to the test server on port, with these timeouts (seconds). */
static ot_http_req *start_timed(ot_http *h, int port, void *user, int64_t connect, int64_t total)
{
	char url[64];
	ot_http_spec s;
	ot_err err;
	ot_http_req *r;

	memset(&s, 0, sizeof(s));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/token", port);
	s.url = url;
	s.connect_timeout = connect;
	s.total_timeout = total;
	ot_form_add(&s.form, "grant_type", "refresh_token");
	ot_form_add(&s.form, "refresh_token", "rt-secret");
	r = ot_http_start(h, &s, user, &err);
	assert_non_null(r);
	return r;
}

static ot_http_req *start(ot_http *h, int port, void *user)
{
	return start_timed(h, port, user, 2, 5);
}

/* Three transfers at once on the event loop, each answered: each comes back from
 * ot_http_next_done() once, with its own user pointer, status and body. */
static void test_multi_transfers(void **state)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                             "Content-Length: 18\r\nConnection: close\r\n\r\n"
	                             "{\"access_token\":1}";
	ot_err err;
	ot_http *h = ot_http_new(4, &err);
	int port, lfd = listen_loopback(&port), seen = 0;
	int tags[3] = {0, 1, 2};
	ot_http_req *r;

	(void)state;
	assert_non_null(h);
	for (int i = 0; i < 3; i++)
		start(h, port, &tags[i]);
	assert_int_equal(ot_http_timeout_ms(h), 0); /* started: perform at once */
	drive(h, lfd, answer, 3);
	while ((r = ot_http_next_done(h))) {
		ot_http_result res;
		int *tag = ot_http_req_user(r);
		ot_http_req_result(r, &res);
		assert_int_equal(res.transport_error, 0);
		assert_int_equal(res.status, 200);
		assert_string_equal(res.body, "{\"access_token\":1}");
		assert_false(ot_http_req_answer_lost(r));
		seen |= 1 << *tag;
		ot_http_req_free(r);
	}
	assert_int_equal(seen, 7);
	assert_int_equal(ot_http_perform(h), 0);
	close(lfd);
	ot_http_free(h);
}

/* A server that reads the whole request and hangs up: a lost answer, never resent. */
static void test_multi_answer_lost(void **state)
{
	ot_err err;
	ot_http *h = ot_http_new(4, &err);
	int port, lfd = listen_loopback(&port);
	ot_http_req *r;
	ot_http_result res;

	(void)state;
	assert_non_null(h);
	start(h, port, NULL);
	drive(h, lfd, NULL, 1);
	r = ot_http_next_done(h);
	assert_non_null(r);
	ot_http_req_result(r, &res);
	assert_int_not_equal(res.transport_error, 0);
	assert_true(ot_http_req_answer_lost(r));
	assert_null(ot_http_next_done(h));
	ot_http_req_free(r);
	close(lfd);
	ot_http_free(h);
}

/* A kept-alive connection that hangs up after the whole second request is in: libcurl would
 * like to send it again on a fresh connection (it treats a reused connection that dies
 * without a byte back as stale), but the server may have acted on it (rotated the refresh
 * token), so it must come back as a lost answer, and the server must have seen it once. */
static void test_reused_connection_never_resent(void **state)
{
	static const char keep[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                           "Content-Length: 18\r\n\r\n{\"access_token\":1}";
	const char *const answers[] = {keep, NULL, keep, keep};
	ot_err err;
	ot_http *h = ot_http_new(1, &err);
	int port, lfd = listen_loopback(&port);
	fake_server sv;
	ot_http_req *r;
	ot_http_result res;

	(void)state;
	assert_non_null(h);
	server_init(&sv, lfd, answers, 4);
	start(h, port, NULL);
	drive_server(h, &sv, 1);
	r = ot_http_next_done(h);
	ot_http_req_result(r, &res);
	assert_int_equal(res.status, 200);
	ot_http_req_free(r);
	start(h, port, NULL); /* on the kept-alive connection; the server hangs up */
	drive_server(h, &sv, 1);
	r = ot_http_next_done(h);
	ot_http_req_result(r, &res);
	assert_int_not_equal(res.transport_error, 0);
	assert_true(ot_http_req_answer_lost(r));
	ot_http_req_free(r);
	for (int i = 0; i < 20; i++) { /* a silent resend would arrive now */
		server_step(&sv);
		usleep(5000);
	}
	assert_int_equal(sv.requests, 2);
	start(h, port, NULL); /* and the next request goes out normally, once */
	drive_server(h, &sv, 1);
	r = ot_http_next_done(h);
	ot_http_req_result(r, &res);
	assert_int_equal(res.status, 200);
	assert_false(ot_http_req_answer_lost(r));
	ot_http_req_free(r);
	assert_int_equal(sv.requests, 3);
	server_close(&sv);
	close(lfd);
	ot_http_free(h);
}

/* A server that takes the request and never answers: libcurl's timer alone ends it, when
 * ot_http_timeout_ms() says, as a timeout. */
static void test_timer_ends_silent_request(void **state)
{
	const char *const none[1] = {NULL};
	ot_err err;
	ot_http *h = ot_http_new(4, &err);
	int port, lfd = listen_loopback(&port);
	fake_server sv;
	ot_http_req *r;
	ot_http_result res;
	int64_t t0 = now_ms();

	(void)state;
	assert_non_null(h);
	server_init(&sv, lfd, none, 0);
	start_timed(h, port, NULL, 1, 1);
	while (ot_http_collect(h) == 0 && now_ms() - t0 < 5000) {
		struct pollfd pf = {.fd = lfd, .events = POLLIN};
		ot_http_wait(h, &pf, 1, (int)ot_http_timeout_ms(h)); /* -1: the 1 s default */
		ot_http_perform(h);
		while (sv.n_conns < 8) { /* accept, never read */
			int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
			if (c < 0)
				break;
			sv.conns[sv.n_conns++] = c;
		}
	}
	r = ot_http_next_done(h);
	assert_non_null(r);
	ot_http_req_result(r, &res);
	assert_int_not_equal(res.transport_error, 0);
	assert_non_null(strstr(res.transport_msg, "timeout after 1 s"));
	assert_true(now_ms() - t0 >= 900 && now_ms() - t0 < 2500);
	assert_true(ot_http_req_answer_lost(r)); /* it went out whole: the server may act */
	ot_http_req_free(r);
	assert_int_equal(ot_http_timeout_ms(h), -1); /* nothing left to time */
	server_close(&sv);
	close(lfd);
	ot_http_free(h);
}

/* The headless commands' wait (no descriptors of their own) against a server in another
 * process: three requests, each answered, all within a second. */
static void test_headless_wait(void **state)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                             "Content-Length: 18\r\n\r\n{\"access_token\":1}";
	const char *const answers[3] = {answer, answer, answer};
	ot_err err;
	ot_http *h;
	int port, lfd = listen_loopback(&port), finished = 0;
	pid_t child;
	int64_t t0;
	ot_http_req *r;

	(void)state;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) { /* the server */
		fake_server sv;
		server_init(&sv, lfd, answers, 3);
		for (int i = 0; i < 1000 && sv.requests < 3; i++) {
			server_step(&sv);
			usleep(2000);
		}
		usleep(200000);
		_exit(sv.requests == 3 ? 0 : 1);
	}
	close(lfd);
	h = ot_http_new(4, &err);
	assert_non_null(h);
	for (int i = 0; i < 3; i++)
		start(h, port, NULL);
	t0 = now_ms();
	while (finished < 3 && now_ms() - t0 < 5000) {
		ot_http_wait(h, NULL, 0, 2000);
		ot_http_perform(h);
		finished = (int)ot_http_collect(h);
	}
	assert_int_equal(finished, 3);
	assert_true(now_ms() - t0 < 1000);
	while ((r = ot_http_next_done(h))) {
		ot_http_result res;
		ot_http_req_result(r, &res);
		assert_int_equal(res.status, 200);
		ot_http_req_free(r);
	}
	ot_http_free(h);
	{
		int st = 0;
		assert_int_equal(waitpid(child, &st, 0), child);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

/* A request aborted while another finished: the running count comes back right at once, so
 * the finished one is seen waiting (no sleep with a result queued). */
static void test_abort_keeps_count(void **state)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                             "Content-Length: 18\r\n\r\n{\"access_token\":1}";
	const char *const answers[1] = {answer};
	ot_err err;
	ot_http *h = ot_http_new(4, &err);
	int port, lfd = listen_loopback(&port);
	fake_server sv;
	ot_http_req *a, *b;
	int64_t t0 = now_ms();

	(void)state;
	assert_non_null(h);
	server_init(&sv, lfd, answers, 1);
	sv.stall = true;
	a = start(h, port, NULL);
	b = start(h, port, NULL);
	/* the first whole request gets the answer; the other never does */
	while (ot_http_perform(h) > 1 && now_ms() - t0 < 2000) {
		struct pollfd pf = {.fd = lfd, .events = POLLIN};
		server_step(&sv);
		ot_http_wait(h, &pf, 1, 20);
	}
	assert_int_equal(ot_http_perform(h), 1);
	assert_int_equal(ot_http_finished_waiting(h), 1);
	/* abort whichever is still running */
	if (ot_http_collect(h) == 1 && ot_http_collected(h, NULL) == a) {
		ot_http_req_free(b);
	} else {
		ot_http_req_free(a);
		a = b;
	}
	assert_int_equal(ot_http_perform(h), 0);
	assert_int_equal(ot_http_finished_waiting(h), 1);
	assert_ptr_equal(ot_http_next_done(h), a);
	ot_http_req_free(a);
	server_close(&sv);
	close(lfd);
	ot_http_free(h);
}

/* A server's words may echo what the request sent: the result's redact (which
 * ot_token_classify applies to every failure's reason) cuts every secret of the request in
 * every form - the client secret raw, percent-encoded (either hex case, '+' for a space),
 * inside the Basic credential (padded or not); any other form value (a refresh token, a
 * code verifier) raw and encoded - and leaves what is not secret (client id, grant type). */
static void test_result_redacts_what_was_sent(void **state)
{
	static const char answer[] =
	        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
	        "Content-Length: 78\r\nConnection: close\r\n\r\n"
	        "{\"error\":\"invalid_request\",\"error_description\":\"no: Zx9/w+rd=p@ss b and "
	        "app \"}";
	static const char *const forms[] = {
	        "Zx9/w+rd=p@ss b",
	        "Zx9%2Fw%2Brd%3Dp%40ss%20b",
	        "zX9%2fW%2bRD%3dP%40SS%20B",
	        "Zx9%2Fw%2Brd%3Dp%40ss+b",
	        "rt/ab+cd== x",
	        "rt%2Fab%2Bcd%3D%3D%20x",
	        "rt-secret",
	};
	ot_provider p = provider(OT_AUTH_BASIC, "app", "Zx9/w+rd=p@ss b");
	const char pair[] = "app:Zx9%2Fw%2Brd%3Dp%40ss%20b";
	char url[64], basic[128], bare[128], text[1024];
	ot_err err;
	ot_http *h = ot_http_new(2, &err);
	int port, lfd = listen_loopback(&port);
	ot_http_spec s;
	ot_http_result res;
	ot_verdict v;
	ot_http_req *r;

	(void)state;
	assert_non_null(h);
	memset(&s, 0, sizeof(s));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/token", port);
	s.url = url;
	ot_form_add(&s.form, "grant_type", "refresh_token");
	ot_form_add(&s.form, "client_id", "app");
	ot_form_add(&s.form, "code_verifier", "rt/ab+cd== x"); /* any other field: secret */
	ot_form_add(&s.form, "refresh_token", "rt-secret");    /* the fake server waits for it */
	ot_http_client_auth(&p, &s);
	assert_non_null(ot_http_start(h, &s, NULL, &err));
	drive(h, lfd, answer, 1);
	r = ot_http_next_done(h);
	assert_non_null(r);
	ot_http_req_result(r, &res);
	assert_int_equal(res.status, 400);
	ot_b64_encode((const unsigned char *)pair, strlen(pair), 0, basic);
	snprintf(bare, sizeof(bare), "%s", basic);
	bare[strcspn(bare, "=")] = '\0';
	assert_true(strlen(bare) < strlen(basic)); /* the pair's length makes padding */
	snprintf(text, sizeof(text),
	         "client app grant_type=refresh_token %s %s %s %s %s %s %s | %s | %s.", forms[0],
	         forms[1], forms[2], forms[3], forms[4], forms[5], forms[6], basic, bare);
	assert_non_null(res.redact);
	res.redact(res.redact_ctx, text, sizeof(text));
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		assert_null(strcasestr(text, forms[i]));
	assert_null(strstr(text, bare));
	assert_non_null(strstr(text, "client app grant_type=refresh_token [redacted]"));
	/* ot_token_classify applies it to the reason of a failure */
	ot_token_classify(&res, 0, &v);
	assert_int_equal(v.outcome, OT_OUTCOME_PERMANENT);
	assert_null(strstr(v.reason, "Zx9"));
	assert_non_null(strstr(v.reason, "no: [redacted] and app"));
	ot_token_answer_free(&v.answer);
	ot_http_req_free(r);
	close(lfd);
	ot_http_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_form_encoding),
	        cmocka_unit_test(test_basic_auth_encodes_before_base64),
	        cmocka_unit_test(test_post_and_none),
	        cmocka_unit_test(test_scope_extra_params_and_client_credentials),
	        cmocka_unit_test(test_refusals),
	        cmocka_unit_test(test_fetch_refused),
	        cmocka_unit_test(test_protocols_restricted),
	        cmocka_unit_test(test_wakeup),
	        cmocka_unit_test(test_extra_descriptors),
	        cmocka_unit_test(test_multi_transfers),
	        cmocka_unit_test(test_multi_answer_lost),
	        cmocka_unit_test(test_reused_connection_never_resent),
	        cmocka_unit_test(test_timer_ends_silent_request),
	        cmocka_unit_test(test_headless_wait),
	        cmocka_unit_test(test_abort_keeps_count),
	        cmocka_unit_test(test_result_redacts_what_was_sent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
