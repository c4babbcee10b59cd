/* curl-floor.c - what the HTTP part of a refresh costs at the least on this machine: N POSTs
 * of a refresh-sized form body to URL over C keep-alive connections with a bare libcurl multi
 * loop (no parsing, no storage, no per-request set-up beyond re-adding a ready handle), and the
 * process's CPU per request (user+sys / N), the figure bench/refresh-fanout reports for
 * `oauthtop refresh`.
 *
 *   build/bench/curl-floor [--socket] URL [N (2000)] [C (32)] [USER:PASS]
 *
 * --socket drives libcurl the way src/core/http.c does (curl_multi_socket_action over epoll,
 * its socket and timer callbacks) instead of curl_multi_perform + curl_multi_poll.
 *
 * Prints one line: requests, concurrency, wall seconds, user and sys CPU per request (µs),
 * how many answers were 2xx. A 4xx answer still costs a full round trip; bench/refresh-fanout
 * runs it against the test token server with a client_credentials body. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

static size_t discard(char *p, size_t size, size_t n, void *u)
{
	(void)p;
	(void)u;
	return size * n;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A form body the size of a refresh request with a 1 KB refresh token. */
static char *make_body(void)
{
	static const char head[] = "grant_type=client_credentials&padding=";
	size_t n = sizeof(head) - 1 + 1024;
	char *b = malloc(n + 1);

	if (!b)
		abort();
	memcpy(b, head, sizeof(head) - 1);
	memset(b + sizeof(head) - 1, 'x', 1024);
	b[n] = '\0';
	return b;
}

static CURL *make_handle(const char *url, const char *userpwd, const char *body,
                         struct curl_slist *hdrs)
{
	CURL *e = curl_easy_init();

	if (!e)
		abort();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (userpwd)
		curl_easy_setopt(e, CURLOPT_USERPWD, userpwd);
	return e;
}

/* The finished transfers: counted (ok when 2xx), each handle re-added while requests remain
 * (the same handle again: its options stay), else cleaned up. */
struct counts {
	long n, started, finished, ok;
};

static void reap(CURLM *m, struct counts *k)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(m, &left))) {
		long status = 0;
		CURL *e = msg->easy_handle;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
		k->ok += msg->data.result == CURLE_OK && status / 100 == 2;
		k->finished++;
		curl_multi_remove_handle(m, e);
		if (k->started < k->n) {
			curl_multi_add_handle(m, e);
			k->started++;
		} else {
			curl_easy_cleanup(e);
		}
	}
}

/* --- the same requests driven the way src/core/http.c drives them: curl_multi_socket_action
 * over epoll, libcurl telling which sockets to watch and when its timer fires --- */
struct sock_loop {
	CURLM *m;
	int ep;
	long timeout_ms; /* -1: none */
};

static int on_socket(CURL *e, curl_socket_t s, int what, void *u, void *sockp)
{
	struct sock_loop *l = u;
	struct epoll_event ev = {0};

	(void)e;
	ev.data.fd = s;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(l->ep, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (sockp) {
		epoll_ctl(l->ep, EPOLL_CTL_MOD, s, &ev);
	} else {
		epoll_ctl(l->ep, EPOLL_CTL_ADD, s, &ev);
		curl_multi_assign(l->m, s, (void *)1);
	}
	return 0;
}

static int on_timer(CURLM *m, long ms, void *u)
{
	(void)m;
	((struct sock_loop *)u)->timeout_ms = ms;
	return 0;
}

static long run_socket(CURLM *m, const char *url, const char *userpwd, const char *body,
                       struct curl_slist *hdrs, long n, long c)
{
	struct sock_loop l = {m, epoll_create1(EPOLL_CLOEXEC), -1};
	struct counts k = {n, 0, 0, 0};
	int running = 0;

	curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m, CURLMOPT_SOCKETDATA, &l);
	curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(m, CURLMOPT_TIMERDATA, &l);
	for (; k.started < c && k.started < n; k.started++)
		curl_multi_add_handle(m, make_handle(url, userpwd, body, hdrs));
	while (k.finished < n) {
		struct epoll_event evs[256];
		int got = epoll_wait(l.ep, evs, 256, l.timeout_ms < 0 ? 1000 : (int)l.timeout_ms);
		if (got <= 0) {
			l.timeout_ms = -1;
			curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		for (int i = 0; i < got; i++) {
			int fl = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			         (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			         (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
			curl_multi_socket_action(m, evs[i].data.fd, fl, &running);
		}
		reap(m, &k);
		if (l.timeout_ms == 0) {
			l.timeout_ms = -1;
			curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
		}
	}
	return k.ok;
}

/* curl_multi_perform + curl_multi_poll: libcurl walks every transfer on each call. */
static long run_perform(CURLM *m, const char *url, const char *userpwd, const char *body,
                        struct curl_slist *hdrs, long n, long c)
{
	struct counts k = {n, 0, 0, 0};

	for (; k.started < c && k.started < n; k.started++)
		curl_multi_add_handle(m, make_handle(url, userpwd, body, hdrs));
	while (k.finished < n) {
		int running = 0;
		curl_multi_perform(m, &running);
		reap(m, &k);
		if (k.finished < n)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	return k.ok;
}

int main(int argc, char **argv)
{
	const char *url = argc > 1 ? argv[1] : NULL;
	long n = argc > 2 ? atol(argv[2]) : 2000, c = argc > 3 ? atol(argv[3]) : 32;
	const char *userpwd = argc > 4 ? argv[4] : NULL;
	long ok = 0;
	struct curl_slist *hdrs = NULL;
	struct rusage ru;
	double t0;
	char *body;
	CURLM *m;

	int socket_mode = argc > 1 && strcmp(argv[1], "--socket") == 0;

	if (socket_mode) {
		argv++;
		argc--;
		url = argc > 1 ? argv[1] : NULL;
		n = argc > 2 ? atol(argv[2]) : 2000;
		c = argc > 3 ? atol(argv[3]) : 32;
		userpwd = argc > 4 ? argv[4] : NULL;
	}
	if (!url || n < 1 || c < 1) {
		fputs("usage: curl-floor [--socket] URL [N] [C] [USER:PASS]\n", stderr);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	body = make_body();
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, c);
	t0 = mono_s();
	ok = (socket_mode ? run_socket : run_perform)(m, url, userpwd, body, hdrs, n, c);
	getrusage(RUSAGE_SELF, &ru);
	printf("curl-floor: requests=%ld concurrency=%ld wall=%.3f s user=%.0f us sys=%.0f us "
	       "cpu=%.0f us per request ok=%ld\n",
	       n, c, mono_s() - t0, tv_s(ru.ru_utime) / (double)n * 1e6,
	       tv_s(ru.ru_stime) / (double)n * 1e6,
	       (tv_s(ru.ru_utime) + tv_s(ru.ru_stime)) / (double)n * 1e6, ok);
	curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	free(body);
	curl_global_cleanup();
	return ok == n ? 0 : 1;
}
