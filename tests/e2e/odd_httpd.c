/* odd_httpd.c - a scripted HTTP server for the end-to-end tests: it answers with exact bytes,
 * so the framing itself can be odd (1xx before the answer, HTTP/1.0 without a length, odd
 * chunk sizes, gzip nobody asked for, headers over 100 KB, a close right after the headers,
 * no status line at all...). Built by the test that uses it (no libraries), never installed.
 *
 *   odd_httpd --dir DIR --port-file FILE [--bind 127.0.0.1|::1]
 *
 * One connection, one request, one scripted answer. The request's path names the script:
 * POST /NAME reads DIR/NAME.script ([A-Za-z0-9_-] only), one command a line:
 *   send FILE          the bytes of DIR/FILE
 *   trickle FILE MS    the same, one byte every MS milliseconds
 *   sleep MS           wait
 *   close              close at once (without draining what the client sends)
 * At the end of the script the server half-closes and closes. Each request appends its
 * request line to DIR/NAME.log (so a test counts requests) and the whole request to
 * DIR/NAME.req. An unknown NAME gets a 404. Children die with the server (PDEATHSIG). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX 65536

static const char *odd_dir = ".";

static void odd_sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int odd_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The whole file DIR/name, or NULL. */
static char *odd_slurp(const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n = 0;

	snprintf(path, sizeof(path), "%s/%s", odd_dir, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	for (;;) {
		size_t r;
		if (n + 65536 > cap) {
			char *nb;
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

static void odd_append(const char *name, const char *suffix, const char *p, size_t n)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s%s", odd_dir, name, suffix);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd < 0)
		return;
	if (write(fd, p, n) < 0) { /* nothing to do about it */
	}
	close(fd);
}

/* Reads one request (headers, then Content-Length bytes); its length, or -1. */
static ssize_t odd_read_request(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	char *end = NULL;
	long clen = 0;

	while (!end) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end && n >= cap - 1)
			return -1;
	}
	for (char *h = strchr(buf, '\n'); h && h < end; h = strchr(h + 1, '\n'))
		if (strncasecmp(h + 1, "Content-Length:", 15) == 0)
			clen = strtol(h + 16, NULL, 10);
	while (clen > 0 && (size_t)(end + 4 - buf) + (size_t)clen > n && n < cap - 1) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

/* The script name from "POST /NAME HTTP/1.1", or "" if it is not a plain name. */
static void odd_name(const char *req, char *out, size_t cap)
{
	const char *p = strchr(req, ' ');
	size_t n = 0;

	out[0] = '\0';
	if (!p || p[1] != '/')
		return;
	for (p += 2; n + 1 < cap; p++, n++) {
		char c = *p;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			break;
		out[n] = c;
	}
	out[n] = '\0';
	if (*p != ' ' && *p != '?')
		out[0] = '\0';
}

static int odd_send_file(int fd, const char *file, long ms_per_byte)
{
	size_t n = 0;
	char *b = odd_slurp(file, &n);
	int rc = 0;

	if (!b)
		return -1;
	if (ms_per_byte <= 0)
		rc = odd_write_all(fd, b, n);
	for (size_t i = 0; ms_per_byte > 0 && i < n && rc == 0; i++) {
		rc = odd_write_all(fd, b + i, 1);
		odd_sleep_ms(ms_per_byte);
	}
	free(b);
	return rc;
}

/* Runs the script; 1 when it closed the connection itself. */
static int odd_run_script(int fd, const char *name)
{
	char sname[300];
	size_t n = 0;
	char *s, *line, *save = NULL;
	int closed = 0;

	snprintf(sname, sizeof(sname), "%s.script", name);
	s = odd_slurp(sname, &n);
	if (!s) {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
		                         "Connection: close\r\n\r\n";
		odd_write_all(fd, nf, sizeof(nf) - 1);
		return 0;
	}
	s = realloc(s, n + 1);
	if (!s)
		return 0;
	s[n] = '\0';
	for (line = strtok_r(s, "\n", &save); line && !closed;
	     line = strtok_r(NULL, "\n", &save)) {
		char a[256] = "";
		long ms = 0;
		if (sscanf(line, "send %255s", a) == 1) {
			if (odd_send_file(fd, a, 0) < 0)
				break;
		} else if (sscanf(line, "trickle %255s %ld", a, &ms) == 2) {
			if (odd_send_file(fd, a, ms) < 0)
				break;
		} else if (sscanf(line, "sleep %ld", &ms) == 1) {
			odd_sleep_ms(ms);
		} else if (strncmp(line, "close", 5) == 0) {
			close(fd);
			closed = 1;
		}
	}
	free(s);
	return closed;
}

static void odd_serve(int fd)
{
	static char req[REQ_MAX];
	char name[200];
	ssize_t n = odd_read_request(fd, req, sizeof(req));
	char *eol;

	if (n < 0) {
		close(fd);
		return;
	}
	odd_name(req, name, sizeof(name));
	if (name[0]) {
		eol = strstr(req, "\r\n");
		odd_append(name, ".log", req, eol ? (size_t)(eol - req) : 0);
		odd_append(name, ".log", "\n", 1);
		odd_append(name, ".req", req, (size_t)n);
	}
	if (odd_run_script(fd, name[0] ? name : "-"))
		return;
	/* Half-close, let the client read everything, then close. */
	shutdown(fd, SHUT_WR);
	{
		struct timeval tv = {1, 0};
		char sink[512];
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (recv(fd, sink, sizeof(sink), 0) > 0)
			;
	}
	close(fd);
}

static int odd_listen(const char *bind_addr, int *port)
{
	int six = strchr(bind_addr, ':') != NULL;
	int fd = socket(six ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	int one = 1;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&ss, 0, sizeof(ss));
	if (six) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, bind_addr, &a->sin6_addr) != 1)
			return -1;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		if (inet_pton(AF_INET, bind_addr, &a->sin_addr) != 1)
			return -1;
		sl = sizeof(*a);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 64) < 0)
		return -1;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	*port = six ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
	            : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static int odd_write_port(const char *file, int port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, file);
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *bind_addr = "127.0.0.1";
	int lfd, port = 0;
	pid_t me = getpid();

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--dir") == 0)
			odd_dir = argv[i + 1];
		else if (strcmp(argv[i], "--port-file") == 0)
			port_file = argv[i + 1];
		else if (strcmp(argv[i], "--bind") == 0)
			bind_addr = argv[i + 1];
	}
	if (!port_file) {
		fprintf(stderr, "usage: odd_httpd --dir DIR --port-file FILE [--bind ADDR]\n");
		return 2;
	}
	lfd = odd_listen(bind_addr, &port);
	if (lfd < 0) {
		fprintf(stderr, "odd_httpd: cannot listen on %s: %s\n", bind_addr, strerror(errno));
		return 2;
	}
	signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
	signal(SIGPIPE, SIG_IGN);
	if (odd_write_port(port_file, port) < 0)
		return 2;
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		pid_t pid;
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return 1;
		}
		pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != me)
				_exit(0);
			close(lfd);
			alarm(60);
			odd_serve(c);
			_exit(0);
		}
		close(c);
	}
}
