/* reply.c - building answers: JSON, errors, raw bodies, headers, form-encoded rewrite. */
#include "idp.h"

#include <stdlib.h>
#include <string.h>

void idp_reply_init(idp_reply *r)
{
	memset(r, 0, sizeof *r);
	r->status = 500;
}

void idp_reply_free(idp_reply *r)
{
	free(r->content_type);
	free(r->body);
	idp_form_free(&r->headers);
	memset(r, 0, sizeof *r);
}

void idp_reply_body(idp_reply *r, int status, const char *ctype, const char *body, size_t len)
{
	r->status = status;
	free(r->content_type);
	r->content_type = ctype ? idp_xstrdup(ctype) : NULL;
	free(r->body);
	r->body = idp_xstrndup(body ? body : "", body ? len : 0);
	r->body_len = body ? len : 0;
}

void idp_reply_json(idp_reply *r, int status, cJSON *obj)
{
	char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
	cJSON_Delete(obj);
	if (!text)
		text = idp_xstrdup("{}");
	idp_reply_body(r, status, "application/json", text, strlen(text));
	cJSON_free(text);
	idp_reply_header(r, "Cache-Control", "no-store");
	idp_reply_header(r, "Pragma", "no-cache");
}

void idp_reply_error(idp_reply *r, int status, const char *error, const char *desc)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", error);
	if (desc)
		cJSON_AddStringToObject(o, "error_description", desc);
	idp_reply_json(r, status, o);
}

void idp_reply_header(idp_reply *r, const char *key, const char *value)
{
	for (size_t i = 0; i < r->headers.n; i++) {
		if (strcmp(r->headers.items[i].key, key) == 0) {
			free(r->headers.items[i].value);
			r->headers.items[i].value = idp_xstrdup(value);
			return;
		}
	}
	idp_form_add(&r->headers, key, value);
}

static void form_member(idp_buf *b, const cJSON *it)
{
	char *val = NULL;
	if (cJSON_IsString(it))
		val = idp_xstrdup(it->valuestring);
	else if (cJSON_IsNumber(it))
		val = idp_xprintf("%.0f", it->valuedouble);
	else if (cJSON_IsBool(it))
		val = idp_xstrdup(cJSON_IsTrue(it) ? "true" : "false");
	else if (cJSON_IsNull(it))
		val = idp_xstrdup("");
	else
		return;
	char *k = idp_form_encode(it->string), *v = idp_form_encode(val);
	if (b->len)
		idp_buf_adds(b, "&");
	idp_buf_adds(b, k);
	idp_buf_adds(b, "=");
	idp_buf_adds(b, v);
	free(k);
	free(v);
	free(val);
}

void idp_reply_to_form(idp_reply *r)
{
	if (r->stream != IDP_STREAM_NONE || !r->content_type ||
	    strcmp(r->content_type, "application/json") != 0 || !r->body)
		return;
	cJSON *o = cJSON_ParseWithLength(r->body, r->body_len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return;
	}
	idp_buf b = {0};
	idp_buf_adds(&b, "");
	for (const cJSON *it = o->child; it; it = it->next)
		form_member(&b, it);
	cJSON_Delete(o);
	idp_reply_body(r, r->status, "application/x-www-form-urlencoded", b.data, b.len);
	idp_buf_free(&b);
}
