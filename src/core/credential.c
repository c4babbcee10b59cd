/* credential.c - ownership helpers for the credential record. */
#include "oauthtop/credential.h"

#include <stdlib.h>
#include <string.h>

void ot_credential_set_str(char **slot, const char *value)
{
	char *old = *slot;

	*slot = ot_strdup(value);
	ot_secret_free(old);
}

void ot_credential_clear(ot_credential *c)
{
	if (!c)
		return;
	free(c->account);
	ot_secret_free(c->access_token);
	ot_secret_free(c->refresh_token);
	free(c->token_type);
	free(c->scope);
	free(c->last_error);
	free(c->client_fp);
	free(c->lease_host);
	memset(c, 0, sizeof(*c));
}

void ot_credential_copy(ot_credential *dst, const ot_credential *src)
{
	*dst = *src;
	dst->account = ot_strdup(src->account);
	dst->access_token = ot_strdup(src->access_token);
	dst->refresh_token = ot_strdup(src->refresh_token);
	dst->token_type = ot_strdup(src->token_type);
	dst->scope = ot_strdup(src->scope);
	dst->last_error = ot_strdup(src->last_error);
	dst->client_fp = ot_strdup(src->client_fp);
	dst->lease_host = ot_strdup(src->lease_host);
}
