/* http.c - libmicrohttpd glue: collects a request (headers, body up to 1 MiB), routes it to
 * a handler, holds the answer on the timer when it must be late, and sends it (from memory,
 * or from a callback for the slow, huge and endless bodies). */
#include "idp.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

typedef struct daemon_ctx {
	idp_server *srv;
	int tls;
	int admin_only;
	struct MHD_Daemon *d;
} daemon_ctx;

typedef struct conn_ctx {
	int handshake_counted;
} conn_ctx;

typedef struct req_ctx {
	idp_buf body;
	int too_large;
	int have_reply;
	int suspended;
	idp_reply reply;
} req_ctx;

typedef struct stream_ctx {
	struct MHD_Connection *conn;
	enum idp_stream kind;
	char *body;
	size_t len;
	double ms_per_byte;
	double next;
} stream_ctx;

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- streamed bodies ---- */

static ssize_t stream_slow(stream_ctx *s, uint64_t pos, char *buf)
{
	if (pos >= s->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	double now = mono_now();
	if (now < s->next) {
		if (idp_timer_suspend(s->conn, s->next - now) != 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		return 0;
	}
	buf[0] = s->body[pos];
	s->next = now + s->ms_per_byte / 1000.0;
	return 1;
}

static ssize_t stream_fill(const char *head, const char *tail, size_t total, uint64_t pos,
                           char *buf, size_t max)
{
	size_t hl = strlen(head), tl = tail ? strlen(tail) : 0, n = 0;
	while (n < max && (tail == NULL || pos + n < total)) {
		uint64_t p = pos + n;
		if (p < hl)
			buf[n] = head[p];
		else if (tail && p >= total - tl)
			buf[n] = tail[p - (total - tl)];
		else
			buf[n] = 'A';
		n++;
	}
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)n;
}

static ssize_t stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	stream_ctx *s = cls;
	static const char huge_head[] = "{\"access_token\":\"A2\",\"token_type\":\"Bearer\","
	                                "\"expires_in\":3600,\"padding\":\"";
	switch (s->kind) {
	case IDP_STREAM_SLOW:
		return stream_slow(s, pos, buf);
	case IDP_STREAM_HUGE:
		return stream_fill(huge_head, "\"}", s->len, pos, buf, max);
	case IDP_STREAM_ENDLESS:
		return stream_fill("{\"access_token\":\"", NULL, 0, pos, buf, max);
	default:
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

static void stream_free(void *cls)
{
	stream_ctx *s = cls;
	free(s->body);
	free(s);
}

static struct MHD_Response *stream_response(struct MHD_Connection *conn, const idp_reply *r)
{
	stream_ctx *s = idp_xcalloc(1, sizeof *s);
	s->conn = conn;
	s->kind = r->stream;
	uint64_t size = MHD_SIZE_UNKNOWN;
	if (r->stream == IDP_STREAM_SLOW) {
		s->body = idp_xstrndup(r->body, r->body_len);
		s->len = r->body_len;
		s->ms_per_byte = (double)(r->stream_arg > 0 ? r->stream_arg : 1000);
		size = s->len;
	} else if (r->stream == IDP_STREAM_HUGE) {
		s->len = r->stream_arg > 100 ? (size_t)r->stream_arg : 100;
		size = s->len;
	}
	struct MHD_Response *resp =
	        MHD_create_response_from_callback(size, 64 * 1024, stream_cb, s, stream_free);
	if (!resp)
		stream_free(s);
	return resp;
}

/* ---- sending ---- */

static enum MHD_Result send_reply(struct MHD_Connection *conn, const idp_reply *r)
{
	struct MHD_Response *resp;
	if (r->stream != IDP_STREAM_NONE)
		resp = stream_response(conn, r);
	else
		resp = MHD_create_response_from_buffer(r->body_len, r->body ? r->body : (char *)"",
		                                       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (r->content_type)
		MHD_add_response_header(resp, "Content-Type", r->content_type);
	for (size_t i = 0; i < r->headers.n; i++)
		MHD_add_response_header(resp, r->headers.items[i].key, r->headers.items[i].value);
	enum MHD_Result ok = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ok;
}

/* ---- receiving ---- */

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	(void)kind;
	idp_form_add(cls, key, value ? value : "");
	return MHD_YES;
}

static void route(daemon_ctx *dc, const idp_request *req, idp_reply *r)
{
	idp_server *srv = dc->srv;
	const char *p = req->path;
	if (!strncmp(p, "/admin/", 7))
		idp_admin_handle(srv, req, r);
	else if (dc->admin_only)
		idp_reply_error(r, 404, "not_found", NULL);
	else if (!strcmp(p, "/token"))
		idp_token_handle(srv, req, r);
	else if (!strcmp(p, "/revoke"))
		idp_revoke_handle(srv, req, r);
	else if (!strcmp(p, "/introspect"))
		idp_introspect_handle(srv, req, r);
	else if (!strcmp(p, "/resource"))
		idp_resource_handle(srv, req, r);
	else if (!strcmp(p, "/device_authorization"))
		idp_device_authorize(srv, req, r);
	else if (!strcmp(p, "/.well-known/oauth-authorization-server") ||
	         !strcmp(p, "/.well-known/openid-configuration"))
		idp_metadata_handle(srv, req, r);
	else
		idp_reply_error(r, 404, "not_found", NULL);
}

static void handle(daemon_ctx *dc, struct MHD_Connection *conn, const char *url, const char *method,
                   req_ctx *rc)
{
	idp_request req;
	memset(&req, 0, sizeof req);
	req.method = method;
	req.path = url;
	req.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	req.accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
	req.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	req.body = rc->body.data ? rc->body.data : "";
	req.body_len = rc->body.len;
	req.body_too_large = rc->too_large;
	req.tls = dc->tls;
	req.now = idp_now();
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &req.query);
	idp_reply_init(&rc->reply);
	route(dc, &req, &rc->reply);
	idp_form_free(&req.query);
	rc->have_reply = 1;
}

static void count_request(daemon_ctx *dc, struct MHD_Connection *conn)
{
	idp_server *srv = dc->srv;
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	conn_ctx *cc = ci ? ci->socket_context : NULL;
	pthread_mutex_lock(&srv->lock);
	srv->st.requests++;
	if (dc->tls && cc && !cc->handshake_counted) {
		cc->handshake_counted = 1;
		srv->st.tls_handshakes++;
	}
	pthread_mutex_unlock(&srv->lock);
}

static void add_suspended(idp_server *srv, long delta)
{
	pthread_mutex_lock(&srv->lock);
	srv->st.suspended += delta;
	pthread_mutex_unlock(&srv->lock);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
	(void)version;
	daemon_ctx *dc = cls;
	req_ctx *rc = *req_cls;
	if (!rc) {
		*req_cls = idp_xcalloc(1, sizeof *rc);
		count_request(dc, conn);
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (rc->body.len + *upload_data_size > IDP_MAX_BODY)
			rc->too_large = 1;
		else
			idp_buf_add(&rc->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rc->suspended) {
		rc->suspended = 0;
		add_suspended(dc->srv, -1);
	} else if (!rc->have_reply) {
		handle(dc, conn, url, method, rc);
		if (rc->reply.delay_ms > 0) {
			add_suspended(dc->srv, 1);
			if (idp_timer_suspend(conn, (double)rc->reply.delay_ms / 1000.0) != 0) {
				add_suspended(dc->srv, -1);
				return MHD_NO;
			}
			rc->suspended = 1;
			return MHD_YES;
		}
	}
	if (rc->reply.close)
		return MHD_NO;
	return send_reply(conn, &rc->reply);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	(void)toe;
	daemon_ctx *dc = cls;
	req_ctx *rc = *req_cls;
	if (!rc)
		return;
	if (rc->suspended)
		add_suspended(dc->srv, -1);
	idp_buf_free(&rc->body);
	idp_reply_free(&rc->reply);
	free(rc);
	*req_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	(void)conn;
	daemon_ctx *dc = cls;
	idp_server *srv = dc->srv;
	pthread_mutex_lock(&srv->lock);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = idp_xcalloc(1, sizeof(conn_ctx));
		srv->st.connections++;
		srv->st.active++;
		if (srv->st.active > srv->st.max_active)
			srv->st.max_active = srv->st.active;
		if (dc->tls)
			srv->st.tls_connections++;
	} else {
		free(*socket_context);
		*socket_context = NULL;
		srv->st.active--;
	}
	pthread_mutex_unlock(&srv->lock);
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (getenv("OT_IDP_DEBUG"))
		vfprintf(stderr, fmt, ap);
}

void *idp_http_start(idp_server *srv, const idp_listen *l, int *bound)
{
	daemon_ctx *dc = idp_xcalloc(1, sizeof *dc);
	dc->srv = srv;
	dc->tls = l->cert_pem != NULL;
	dc->admin_only = l->admin_only;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)l->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	unsigned flags =
	        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (dc->tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem opts[16];
	int n = 0;
#define OPT(o, v, p) opts[n++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (void *)(p)}
	OPT(MHD_OPTION_SOCK_ADDR, 0, &sa);
	OPT(MHD_OPTION_CONNECTION_LIMIT, l->conn_limit ? l->conn_limit : 1000, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL);
	OPT(MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, dc);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, on_connection, dc);
	OPT(MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL);
	if (l->threads > 1)
		OPT(MHD_OPTION_THREAD_POOL_SIZE, l->threads, NULL);
	if (dc->tls) {
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, l->key_pem);
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, l->cert_pem);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	dc->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, dc, MHD_OPTION_ARRAY, opts,
	                         MHD_OPTION_END);
	if (!dc->d) {
		free(dc);
		return NULL;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(dc->d, MHD_DAEMON_INFO_BIND_PORT);
	*bound = di ? di->port : l->port;
	return dc;
}

void idp_http_stop(void *daemon)
{
	daemon_ctx *dc = daemon;
	if (!dc)
		return;
	MHD_stop_daemon(dc->d);
	free(dc);
}
