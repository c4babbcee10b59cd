/* idp.h - private interfaces of the test token server oauthtop-idp (tests/idp/).
 * One server context (idp_server) holds every piece of state behind one mutex; the HTTP glue
 * (http.c) turns each request into an idp_request and sends back the idp_reply a handler
 * filled. See tests/idp/README.md for the behaviour. */
#ifndef OT_IDP_H
#define OT_IDP_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#define IDP_FP_LEN   9
#define IDP_MAX_BODY (1024 * 1024)
#define IDP_LOG_KEEP 200000

/* ---- util.c: allocation that aborts on OOM, time, randomness, fingerprints ---- */
void *idp_xmalloc(size_t n);
void *idp_xcalloc(size_t n, size_t size);
void *idp_xrealloc(void *p, size_t n);
char *idp_xstrdup(const char *s);
char *idp_xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string. */
char *idp_xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Wall-clock time in seconds with sub-second precision. */
double idp_now(void);
/* First 8 hex digits of SHA-256(value) (same as ot_fingerprint); "" for NULL. */
void idp_fingerprint(const char *value, char out[IDP_FP_LEN]);
/* Writes n random lowercase hex digits and a NUL into out (n + 1 bytes). */
void idp_random_hex(char *out, size_t n);

typedef struct idp_buf {
	char *data;
	size_t len, cap;
} idp_buf;
void idp_buf_add(idp_buf *b, const char *s, size_t n);
void idp_buf_adds(idp_buf *b, const char *s);
void idp_buf_free(idp_buf *b);

/* ---- form.c: x-www-form-urlencoded, percent coding, base64, Basic auth ---- */
typedef struct idp_kv {
	char *key;
	char *value;
} idp_kv;
typedef struct idp_form {
	idp_kv *items;
	size_t n, cap;
	int duplicate; /* a key appeared twice */
} idp_form;
/* Parses a form body into f (appending); -1 when an escape decodes to NUL or is malformed. */
int idp_form_parse(idp_form *f, const char *s, size_t len);
const char *idp_form_get(const idp_form *f, const char *key);
void idp_form_add(idp_form *f, const char *key, const char *value);
void idp_form_free(idp_form *f);
/* Percent-decodes s[0..len) ('+' is a space when plus_space); NULL if malformed or NUL. */
char *idp_pct_decode(const char *s, size_t len, int plus_space);
/* Form-url-encodes s (space as '+'). */
char *idp_form_encode(const char *s);
/* Parses "Basic base64(urlenc(id):urlenc(secret))": 1 parsed, 0 not Basic, -1 malformed. */
int idp_basic_parse(const char *header, char **id, char **secret);

/* ---- reply.c: what a handler answers ---- */
enum idp_stream { IDP_STREAM_NONE, IDP_STREAM_SLOW, IDP_STREAM_HUGE, IDP_STREAM_ENDLESS };
typedef struct idp_reply {
	int status;    /* HTTP status */
	int close;     /* close the connection without answering */
	long delay_ms; /* hold the answer this long (suspend, not sleep) */
	char *content_type;
	char *body;
	size_t body_len;
	idp_form headers;
	enum idp_stream stream; /* body produced by a callback */
	long stream_arg;        /* ms per byte (SLOW), total bytes (HUGE) */
} idp_reply;
void idp_reply_init(idp_reply *r);
void idp_reply_free(idp_reply *r);
/* Sets a JSON body (takes ownership of obj) with Cache-Control: no-store. */
void idp_reply_json(idp_reply *r, int status, cJSON *obj);
/* Sets {"error":error,"error_description":desc} (desc may be NULL). */
void idp_reply_error(idp_reply *r, int status, const char *error, const char *desc);
void idp_reply_body(idp_reply *r, int status, const char *ctype, const char *body, size_t len);
void idp_reply_header(idp_reply *r, const char *key, const char *value);
/* Rewrites a JSON-object body as a form-encoded body (GitHub without Accept: json). */
void idp_reply_to_form(idp_reply *r);

/* ---- the request as handlers see it ---- */
typedef struct idp_request {
	const char *method;
	const char *path;
	const char *content_type;
	const char *accept;
	const char *authorization;
	const char *body;
	size_t body_len;
	int body_too_large;
	int tls;
	idp_form query;
	double now;
} idp_request;

/* ---- state.c: configuration, families, tokens, stats, request log ---- */
typedef struct idp_config {
	int rotation;
	int reuse_strict;
	long grace;
	int same_access_token;
	long expires_in;
	long refresh_expires_in;
	long token_bytes;
	long latency_ms;
	int require_accept_json;
} idp_config;

typedef struct idp_client {
	char *id;
	char *secret; /* NULL for a public client */
} idp_client;

/* Counters of GET /admin/stats, in output order. */
#define IDP_STATS(X)                                                                               \
	X(requests)                                                                                \
	X(admin_requests)                                                                          \
	X(token_requests)                                                                          \
	X(refresh_grants)                                                                          \
	X(client_credentials_grants)                                                               \
	X(device_grants)                                                                           \
	X(successes)                                                                               \
	X(invalid_grant)                                                                           \
	X(invalid_client)                                                                          \
	X(invalid_request)                                                                         \
	X(reuse_detected)                                                                          \
	X(grace_uses)                                                                              \
	X(double_spend)                                                                            \
	X(rotations)                                                                               \
	X(scenario_hits)                                                                           \
	X(revocations)                                                                             \
	X(introspections)                                                                          \
	X(resource_requests)                                                                       \
	X(accept_json_missing)                                                                     \
	X(connections)                                                                             \
	X(active)                                                                                  \
	X(max_active)                                                                              \
	X(suspended)                                                                               \
	X(tls_connections)                                                                         \
	X(tls_handshakes)
typedef struct idp_stats {
#define IDP_STAT_FIELD(n) long n;
	IDP_STATS(IDP_STAT_FIELD)
#undef IDP_STAT_FIELD
} idp_stats;

/* A string-keyed hash map; keys are copied, values are the caller's. */
typedef struct idp_map_ent {
	char *key;
	void *value;
	struct idp_map_ent *next;
} idp_map_ent;
typedef struct idp_map {
	idp_map_ent **b;
	size_t nb, n;
} idp_map;
void *idp_map_get(const idp_map *m, const char *key);
void idp_map_put(idp_map *m, const char *key, void *value);
void idp_map_del(idp_map *m, const char *key);
/* Calls fn for each entry (the map must not change meanwhile). */
void idp_map_each(idp_map *m, void (*fn)(const char *key, void *value, void *arg), void *arg);
void idp_map_free(idp_map *m);

struct idp_token;
typedef struct idp_family {
	char *name;
	struct idp_token *cur; /* current refresh token, NULL for client_credentials */
	char *at;
	double at_expires;
	int revoked;
	char *revoked_reason;
	long seq; /* grant counter: token numbers */
	long issued, requests, grace_uses, reuse_detected, double_spend;
	char **spent; /* fingerprints of rotated-out refresh tokens, oldest first */
	size_t nspent, capspent;
	char *last_accept, *last_auth, *last_client_id, *last_scope;
	cJSON *last_params;
} idp_family;

enum idp_tstate { IDP_T_CURRENT, IDP_T_ROTATED };
typedef struct idp_token {
	char *value;
	idp_family *fam;
	enum idp_tstate state;
	double issued_at, rotated_at, expires_at; /* expires_at 0 = never */
} idp_token;

typedef struct idp_rule {
	long id;
	char *family;    /* match: family name */
	char *client_id; /* match: client id */
	char *grant;     /* optional grant_type filter */
	const struct idp_scenario *sc;
	long times; /* 0 = forever */
	long skip;
	long hits;
	cJSON *params;
	struct idp_rule *next;
} idp_rule;

typedef struct idp_device {
	cJSON *script; /* array of step names */
	long step;
	long interval;
	long next_code;
	cJSON *polls;  /* array of poll times */
	idp_map codes; /* device_code -> (void *)1 pending, (void *)2 done */
} idp_device;

typedef struct idp_server {
	pthread_mutex_t lock;
	idp_config cfg, cfg0;
	idp_client *clients;
	size_t nclients;
	idp_map families; /* name -> idp_family* (owned) */
	idp_map tokens;   /* refresh token -> idp_token* (owned) */
	idp_map access;   /* current access token -> idp_family* */
	idp_rule *rules;
	long next_rule_id;
	idp_stats st;
	char **log; /* ring of JSON lines */
	size_t log_n, log_head;
	long log_seq;
	FILE *logf;
	idp_device dev;
	int port, admin_port, tls;
	int stopping;
} idp_server;

void idp_server_init(idp_server *srv);
/* Forgets families, tokens, rules, counters, log and device state; config back to cfg0. */
void idp_server_reset(idp_server *srv);
void idp_server_free(idp_server *srv);
void idp_client_add(idp_server *srv, const char *id, const char *secret);
const idp_client *idp_client_find(const idp_server *srv, const char *id);
idp_family *idp_family_get(idp_server *srv, const char *name);
/* Returns the family, creating an empty one (no refresh token) if needed. */
idp_family *idp_family_ensure(idp_server *srv, const char *name);
/* Makes value the family's current refresh token (creating the family if needed). */
idp_family *idp_family_seed(idp_server *srv, const char *name, const char *value, double now);
void idp_family_revoke(idp_server *srv, idp_family *fam, const char *reason);
/* Issues a new access token (or keeps it with --same-access-token); returns expires_in. */
long idp_family_issue_access(idp_server *srv, idp_family *fam, double now);
/* Rotates: the current refresh token becomes rotated, a new one becomes current. */
void idp_family_rotate(idp_server *srv, idp_family *fam, double now);
cJSON *idp_family_json(const idp_family *fam, int brief);
cJSON *idp_stats_json(const idp_server *srv);
cJSON *idp_config_json(const idp_config *cfg);
/* Applies a JSON object of config keys; NULL or a message naming the bad key. */
const char *idp_config_apply(idp_config *cfg, const cJSON *obj);
/* Appends a request-log entry (takes ownership; adds seq). */
void idp_log_add(idp_server *srv, cJSON *entry);
/* Returns the log entries with seq > since as JSON lines. */
char *idp_log_dump(const idp_server *srv, long since, size_t *len);

/* ---- scenario.c: scenario rules and the answers they shape ---- */
enum idp_shape {
	IDP_SHAPE_SUCCESS, /* runs the grant (rotates), then shapes the success answer */
	IDP_SHAPE_KEEP,    /* runs the grant without rotating; answer without a new RT */
	IDP_SHAPE_ERROR,   /* touches no state */
	IDP_SHAPE_CLIENT   /* client rejection: answers even when client auth failed */
};
typedef struct idp_success {
	const char *access_token;
	const char *refresh_token; /* NULL: not in the answer */
	const char *scope;
	long expires_in;
	long refresh_expires_in; /* 0: not in the answer */
} idp_success;
typedef struct idp_scenario {
	const char *name;
	enum idp_shape shape;
	long default_ms;
	void (*build)(idp_reply *r, const idp_success *s, const cJSON *params, double now);
} idp_scenario;
const idp_scenario *idp_scenario_find(const char *name);
/* The normal success answer. */
void idp_success_reply(idp_reply *r, const idp_success *s);
/* Adds a rule from its JSON description; returns its id or -1 with *err set. */
long idp_rule_add(idp_server *srv, const cJSON *obj, const char **err);
void idp_rules_clear(idp_server *srv);
int idp_rule_delete(idp_server *srv, long id);
cJSON *idp_rules_json(const idp_server *srv);
/* Finds the first rule matching (family, client_id, grant) and consumes one use; NULL when no
 * rule fires (none matches, or it is still skipping). client_ok = 0 lets only client-rejection
 * rules match. The caller frees the result with idp_rule_free. */
idp_rule *idp_rule_take(idp_server *srv, const char *family, const char *client_id,
                        const char *grant, int client_ok);
void idp_rule_free(idp_rule *r);
/* Integer parameter with a default. */
long idp_param_long(const cJSON *params, const char *key, long dflt);

/* ---- token.c: POST /token ---- */
void idp_token_handle(idp_server *srv, const idp_request *req, idp_reply *r);

/* ---- endpoints.c: revoke, introspect, resource, metadata, device flow ---- */
void idp_revoke_handle(idp_server *srv, const idp_request *req, idp_reply *r);
void idp_introspect_handle(idp_server *srv, const idp_request *req, idp_reply *r);
void idp_resource_handle(idp_server *srv, const idp_request *req, idp_reply *r);
void idp_metadata_handle(idp_server *srv, const idp_request *req, idp_reply *r);
void idp_device_authorize(idp_server *srv, const idp_request *req, idp_reply *r);
/* One poll of the device-code grant (lock held, form parsed); fills r. */
void idp_device_poll(idp_server *srv, const char *device_code, double now, idp_reply *r);
cJSON *idp_device_json(const idp_server *srv);
const char *idp_device_configure(idp_server *srv, const cJSON *obj);

/* Checks method, content type and size of a form POST and parses it; fills r on error. */
int idp_form_request(idp_server *srv, const idp_request *req, idp_form *form, idp_reply *r);
/* Client authentication: fills *client_id (claimed id, may be NULL) and *method; returns 1
 * when the client is authenticated, 0 when rejected, -1 for a malformed request. */
int idp_client_auth(idp_server *srv, const idp_request *req, const idp_form *form, char **client_id,
                    const char **method);

/* ---- admin.c: /admin/ ---- */
void idp_admin_handle(idp_server *srv, const idp_request *req, idp_reply *r);

/* ---- timer.c: resumes suspended connections when their time comes ---- */
struct MHD_Connection;
int idp_timer_start(void);
/* Suspends conn (from its handler or content callback) for delay_s seconds; -1 when
 * stopping (then the caller must not wait). */
int idp_timer_suspend(struct MHD_Connection *conn, double delay_s);
/* Resumes every waiting connection and stops the timer thread. */
void idp_timer_stop(void);

/* ---- http.c: libmicrohttpd glue ---- */
typedef struct idp_listen {
	int port;
	const char *cert_pem; /* NULL: plain HTTP */
	const char *key_pem;
	int admin_only;
	int threads;
	unsigned conn_limit;
} idp_listen;
/* Starts a daemon on 127.0.0.1; returns an opaque handle or NULL; *bound = port. */
void *idp_http_start(idp_server *srv, const idp_listen *l, int *bound);
void idp_http_stop(void *daemon);

#endif
