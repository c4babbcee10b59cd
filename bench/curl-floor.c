/* curl-floor.c - what the HTTP part of a refresh costs at the least on this machine: N POSTs
 * of a refresh-sized form body to URL over C keep-alive connections with a bare libcurl multi
 * loop (no parsing, no storage, no per-request set-up beyond re-adding a ready handle), and the
 * process's CPU per request (user+sys / N), the figure bench/refresh-fanout reports for
 * `oauthtop refresh`.
 *
 *   build/bench/curl-floor URL [N (2000)] [C (32)] [USER:PASS]
 *
 * Prints one line: requests, concurrency, wall seconds, user and sys CPU per request (µs),
 * how many answers were 2xx. A 4xx answer still costs a full round trip; bench/refresh-fanout
 * runs it against the test token server with a client_credentials body. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv)
{
	const char *url = argc > 1 ? argv[1] : NULL;
	long n = argc > 2 ? atol(argv[2]) : 2000, c = argc > 3 ? atol(argv[3]) : 32;
	const char *userpwd = argc > 4 ? argv[4] : NULL;
	long started = 0, finished = 0, ok = 0;
	struct curl_slist *hdrs = NULL;
	struct rusage ru;
	double t0;
	char *body;
	CURLM *m;

	if (!url || n < 1 || c < 1) {
		fputs("usage: curl-floor URL [N] [C] [USER:PASS]\n", stderr);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	body = make_body();
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, c);
	t0 = mono_s();
	for (; started < c && started < n; started++)
		curl_multi_add_handle(m, make_handle(url, userpwd, body, hdrs));
	while (finished < n) {
		int running = 0, left = 0;
		CURLMsg *msg;
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			long status = 0;
			CURL *e = msg->easy_handle;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			ok += msg->data.result == CURLE_OK && status / 100 == 2;
			finished++;
			curl_multi_remove_handle(m, e);
			if (started < n) { /* the same handle again: its options stay */
				curl_multi_add_handle(m, e);
				started++;
			} else {
				curl_easy_cleanup(e);
			}
		}
		if (finished < n)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
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
