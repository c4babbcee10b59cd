/* token.h - the one parser of token-endpoint answers (RFC 6749 §5.1/§5.2) and the
 * classification of a refresh attempt's result (DESIGN §3 steps 3-5). No I/O. */
#ifndef OAUTHTOP_TOKEN_H
#define OAUTHTOP_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oauthtop/config.h"
#include "oauthtop/credential.h"

/* Answers larger than this are malformed (and the HTTP layer stops reading). */
#define OT_ANSWER_MAX (1024 * 1024)

typedef enum ot_answer_kind {
	OT_ANSWER_MALFORMED = 0, /* HTML, garbage, truncated JSON, wrong types... */
	OT_ANSWER_TOKEN,         /* non-empty access_token (and token_type) */
	OT_ANSWER_ERROR,         /* an `error` member, or a recognisable vendor error body */
} ot_answer_kind;

typedef struct ot_token_answer {
	ot_answer_kind kind;
	char *access_token; /* secrets: freed with wiping by ot_token_answer_free() */
	char *refresh_token; /* NULL when absent, null or "" (keep the old one) */
	char *token_type;
	char *scope;        /* NULL when absent; "" is a valid (empty) scope */
	char *id_token;
	bool has_expires_in;
	int64_t expires_in; /* clamped to [0, 10 years]; floats floored */
	int64_t refresh_expires_in; /* refresh_expires_in / refresh_token_expires_in /
				       x_refresh_token_expires_in; 0 = unknown */
	char *error;             /* e.g. "invalid_grant", "bad_refresh_token" */
	char *error_description;
	char *malformed_reason;  /* why kind is MALFORMED: "not JSON (HTML page)"... */
} ot_token_answer;

/* Parses body (not NUL-terminated necessarily, len bytes) as a JSON object or a form-encoded
 * body. Never fails hard: anything unusable gives kind OT_ANSWER_MALFORMED with a reason.
 * out must be freed with ot_token_answer_free(). */
void ot_token_parse(const char *body, size_t len, ot_token_answer *out);

void ot_token_answer_free(ot_token_answer *a);

/* What the HTTP layer saw; the classifier's input. */
typedef struct ot_http_result {
	int transport_error;       /* 0 ok; else the request failed before an answer */
	const char *transport_msg; /* "connection refused", "timeout after 30 s"... */
	long status;               /* HTTP status, 0 if none */
	const char *body;
	size_t body_len;
	bool body_truncated;       /* over OT_ANSWER_MAX */
	const char *retry_after;   /* Retry-After header value or NULL */
	const char *rate_limit_reset; /* X-Rate-Limit-Reset header value or NULL */
	/* Cuts what the request sent that is secret out of a text of the server's (set by the
	 * HTTP client; NULL: nothing to cut). ot_token_classify() applies it to the reason and
	 * the error code of every verdict that is not a success, so a server that echoes a
	 * token or the client secret, in any form it was sent, never reaches an output. */
	void (*redact)(const void *ctx, char *text, size_t n);
	const void *redact_ctx;
} ot_http_result;

typedef struct ot_verdict {
	ot_outcome outcome;      /* OK, TRANSIENT, PERMANENT or CLIENT */
	char reason[256];        /* one line, no secrets: "invalid_grant: Token is not active" */
	char error_code[64];     /* OAuth error code when there was one, else "" */
	int64_t retry_at;        /* from Retry-After / X-Rate-Limit-Reset; 0 = none */
	ot_token_answer answer;  /* the parsed body (kind TOKEN when outcome is OK) */
} ot_verdict;

/* Classifies a finished request per DESIGN §3 step 5. now is used for Retry-After.
 * out->answer must be freed with ot_token_answer_free(). */
void ot_token_classify(const ot_http_result *r, int64_t now, ot_verdict *out);

/* Parses a Retry-After value (delta seconds or HTTP-date) into an absolute time; 0 if bad. */
int64_t ot_parse_retry_after(const char *value, int64_t now);

/* Applies a successful answer to cred: new access token, expiry = sent_at + expires_in (or
 * the provider's default_expires_in, else unknown), new refresh token only if one came (and
 * then refresh_issued_at = sent_at and its declared expiry), scope, outcome OK, failures 0,
 * last_error cleared, next_attempt_at cleared. Returns 1 if the refresh token rotated. */
int ot_token_apply(ot_credential *cred, const ot_token_answer *a, int64_t sent_at,
		   const ot_provider *p);

/* Backoff delay in seconds for the n-th consecutive failure (n >= 1): base * 2^(n-1), capped
 * at max, with jitter in [50%, 100%] drawn from rnd (0..1). */
int64_t ot_backoff_delay(int failures, int64_t base, int64_t max, double rnd);

#endif
