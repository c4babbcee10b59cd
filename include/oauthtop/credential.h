/* credential.h - an account's tokens and refresh state, as stored. A plain record. */
#ifndef OAUTHTOP_CREDENTIAL_H
#define OAUTHTOP_CREDENTIAL_H

#include <stdint.h>

#include "oauthtop/secret.h"

/* How the last refresh attempt ended (DESIGN §3 step 5). */
typedef enum ot_outcome {
	OT_OUTCOME_NONE = 0,  /* never attempted */
	OT_OUTCOME_OK,        /* succeeded */
	OT_OUTCOME_TRANSIENT, /* failed transiently; next_attempt_at holds the retry */
	OT_OUTCOME_PERMANENT, /* grant rejected (invalid_grant, invalid_scope...): reauth */
	OT_OUTCOME_CLIENT,    /* client rejected (401, invalid_client): fix configuration */
} ot_outcome;

/* Every string is owned (heap, NUL-terminated) or NULL. Times are Unix seconds; 0 = unknown
 * or never. access_token / refresh_token are secrets: free with ot_credential_clear(). */
typedef struct ot_credential {
	char *account;
	char *access_token; /* NULL: none; NULL also when loaded without secrets */
	char *token_type;
	char *scope;
	int64_t access_expires_at;  /* 0 = unknown */
	char *refresh_token;        /* NULL: none */
	int has_refresh_token;      /* 1 if a refresh token is stored (valid without secrets) */
	int has_access_token;       /* 1 if an access token is stored (valid without secrets) */
	char access_fp[OT_FP_LEN];  /* fingerprint of the stored access token, "" if none */
	char refresh_fp[OT_FP_LEN]; /* fingerprint of the stored refresh token, "" if none */
	int64_t refresh_expires_at; /* declared by the server; 0 = unknown (never expired) */
	int64_t refresh_issued_at;  /* when the current refresh token was received */
	int64_t last_attempt_at;
	int64_t last_success_at;
	ot_outcome last_outcome;
	char *last_error;      /* "invalid_grant: Token is not active", "HTTP 503"...; NULL none */
	int failures;          /* consecutive failed attempts */
	int64_t next_attempt_at; /* earliest next automatic attempt (backoff); 0 = none */
	char *client_fp;       /* provider fingerprint when the client was rejected (re-arm) */
	/* lease (DESIGN §3 step 1) */
	char *lease_host;
	int64_t lease_pid;
	int64_t lease_expires_at;    /* 0 = no lease */
	char inflight_fp[OT_FP_LEN]; /* refresh token in flight under the lease, "" if none */
	int64_t updated_at;
} ot_credential;

/* Frees every member (wiping secrets) and zeroes the record. */
void ot_credential_clear(ot_credential *c);

/* Deep copy of src into dst (dst is overwritten, not freed first). */
void ot_credential_copy(ot_credential *dst, const ot_credential *src);

/* Replaces *slot with a copy of value (NULL allowed), wiping the old value. */
void ot_credential_set_str(char **slot, const char *value);

#endif
