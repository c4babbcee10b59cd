/* state.c - the server's state: clients, families and their tokens, counters, request log. */
#include "idp.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- string map ---- */

static uint64_t map_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static idp_map_ent **map_slot(const idp_map *m, const char *key)
{
	idp_map_ent **p = &m->b[map_hash(key) % m->nb];
	while (*p && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

void *idp_map_get(const idp_map *m, const char *key)
{
	if (!m->nb)
		return NULL;
	idp_map_ent *e = *map_slot(m, key);
	return e ? e->value : NULL;
}

static void map_grow(idp_map *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	idp_map_ent **b = idp_xcalloc(nb, sizeof *b);
	for (size_t i = 0; i < m->nb; i++) {
		idp_map_ent *e = m->b[i];
		while (e) {
			idp_map_ent *next = e->next;
			size_t h = map_hash(e->key) % nb;
			e->next = b[h];
			b[h] = e;
			e = next;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

void idp_map_put(idp_map *m, const char *key, void *value)
{
	if (m->n >= m->nb)
		map_grow(m);
	idp_map_ent **p = map_slot(m, key);
	if (*p) {
		(*p)->value = value;
		return;
	}
	idp_map_ent *e = idp_xcalloc(1, sizeof *e);
	e->key = idp_xstrdup(key);
	e->value = value;
	*p = e;
	m->n++;
}

void idp_map_del(idp_map *m, const char *key)
{
	if (!m->nb)
		return;
	idp_map_ent **p = map_slot(m, key);
	idp_map_ent *e = *p;
	if (!e)
		return;
	*p = e->next;
	free(e->key);
	free(e);
	m->n--;
}

void idp_map_each(idp_map *m, void (*fn)(const char *key, void *value, void *arg), void *arg)
{
	for (size_t i = 0; i < m->nb; i++)
		for (idp_map_ent *e = m->b[i]; e; e = e->next)
			fn(e->key, e->value, arg);
}

void idp_map_free(idp_map *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		idp_map_ent *e = m->b[i];
		while (e) {
			idp_map_ent *next = e->next;
			free(e->key);
			free(e);
			e = next;
		}
	}
	free(m->b);
	memset(m, 0, sizeof *m);
}

/* ---- server ---- */

void idp_server_init(idp_server *srv)
{
	memset(srv, 0, sizeof *srv);
	pthread_mutex_init(&srv->lock, NULL);
	srv->cfg0.rotation = 1;
	srv->cfg0.reuse_strict = 1;
	srv->cfg0.expires_in = 3600;
	srv->cfg = srv->cfg0;
	srv->log = idp_xcalloc(IDP_LOG_KEEP, sizeof *srv->log);
	srv->next_rule_id = 1;
	srv->dev.interval = 5;
}

static void free_token(const char *key, void *value, void *arg)
{
	(void)key;
	(void)arg;
	idp_token *t = value;
	free(t->value);
	free(t);
}

static void free_family(const char *key, void *value, void *arg)
{
	(void)key;
	(void)arg;
	idp_family *f = value;
	free(f->name);
	free(f->at);
	free(f->revoked_reason);
	for (size_t i = 0; i < f->nspent; i++)
		free(f->spent[i]);
	free(f->spent);
	free(f->last_accept);
	free(f->last_auth);
	free(f->last_client_id);
	free(f->last_scope);
	cJSON_Delete(f->last_params);
	free(f);
}

static void state_clear(idp_server *srv)
{
	idp_map_each(&srv->tokens, free_token, NULL);
	idp_map_each(&srv->families, free_family, NULL);
	idp_map_free(&srv->tokens);
	idp_map_free(&srv->families);
	idp_map_free(&srv->access);
	idp_rules_clear(srv);
	for (size_t i = 0; i < IDP_LOG_KEEP; i++) {
		free(srv->log[i]);
		srv->log[i] = NULL;
	}
	srv->log_n = srv->log_head = 0;
	srv->log_seq = 0;
	cJSON_Delete(srv->dev.script);
	cJSON_Delete(srv->dev.polls);
	idp_map_free(&srv->dev.codes);
	srv->dev.script = srv->dev.polls = NULL;
	srv->dev.step = 0;
	srv->dev.interval = 5;
}

void idp_server_reset(idp_server *srv)
{
	state_clear(srv);
	/* connection gauges describe the present, not the past */
	long active = srv->st.active, suspended = srv->st.suspended;
	memset(&srv->st, 0, sizeof srv->st);
	srv->st.active = srv->st.max_active = active;
	srv->st.suspended = suspended;
	srv->cfg = srv->cfg0;
}

void idp_server_free(idp_server *srv)
{
	state_clear(srv);
	free(srv->log);
	for (size_t i = 0; i < srv->nclients; i++) {
		free(srv->clients[i].id);
		free(srv->clients[i].secret);
	}
	free(srv->clients);
	if (srv->logf)
		fclose(srv->logf);
	pthread_mutex_destroy(&srv->lock);
}

void idp_client_add(idp_server *srv, const char *id, const char *secret)
{
	for (size_t i = 0; i < srv->nclients; i++) {
		if (strcmp(srv->clients[i].id, id) == 0) {
			free(srv->clients[i].secret);
			srv->clients[i].secret = secret ? idp_xstrdup(secret) : NULL;
			return;
		}
	}
	srv->clients = idp_xrealloc(srv->clients, (srv->nclients + 1) * sizeof *srv->clients);
	srv->clients[srv->nclients].id = idp_xstrdup(id);
	srv->clients[srv->nclients].secret = secret ? idp_xstrdup(secret) : NULL;
	srv->nclients++;
}

const idp_client *idp_client_find(const idp_server *srv, const char *id)
{
	for (size_t i = 0; id && i < srv->nclients; i++)
		if (strcmp(srv->clients[i].id, id) == 0)
			return &srv->clients[i];
	return NULL;
}

/* ---- families and tokens ---- */

idp_family *idp_family_get(idp_server *srv, const char *name)
{
	return idp_map_get(&srv->families, name);
}

idp_family *idp_family_ensure(idp_server *srv, const char *name)
{
	idp_family *f = idp_family_get(srv, name);
	if (f)
		return f;
	f = idp_xcalloc(1, sizeof *f);
	f->name = idp_xstrdup(name);
	idp_map_put(&srv->families, name, f);
	return f;
}

static char *token_make(const idp_server *srv, const char *kind, const idp_family *fam)
{
	char rnd[17];
	idp_random_hex(rnd, 16);
	char *t = idp_xprintf("%s-%s-%ld-%s", kind, fam->name, fam->seq, rnd);
	size_t len = strlen(t), want = srv->cfg.token_bytes > 0 ? (size_t)srv->cfg.token_bytes : 0;
	if (want > len) {
		t = idp_xrealloc(t, want + 1);
		idp_random_hex(t + len, want - len);
	}
	return t;
}

static void spent_push(idp_family *fam, const char *value)
{
	if (fam->nspent == fam->capspent) {
		fam->capspent = fam->capspent ? 2 * fam->capspent : 8;
		fam->spent = idp_xrealloc(fam->spent, fam->capspent * sizeof *fam->spent);
	}
	char fp[IDP_FP_LEN];
	idp_fingerprint(value, fp);
	fam->spent[fam->nspent++] = idp_xstrdup(fp);
}

static idp_token *token_add(idp_server *srv, idp_family *fam, char *value, double now)
{
	idp_token *t = idp_xcalloc(1, sizeof *t);
	t->value = value;
	t->fam = fam;
	t->state = IDP_T_CURRENT;
	t->issued_at = now;
	t->expires_at =
	        srv->cfg.refresh_expires_in > 0 ? now + (double)srv->cfg.refresh_expires_in : 0;
	idp_map_put(&srv->tokens, value, t);
	return t;
}

idp_family *idp_family_seed(idp_server *srv, const char *name, const char *value, double now)
{
	idp_family *fam = idp_family_ensure(srv, name);
	idp_token *t = idp_map_get(&srv->tokens, value);
	if (fam->cur && fam->cur != t) {
		fam->cur->state = IDP_T_ROTATED;
		fam->cur->rotated_at = now;
	}
	if (t) {
		if (t->fam != fam && t->fam->cur == t)
			t->fam->cur = NULL; /* the token moves to this family */
		t->fam = fam;
		t->state = IDP_T_CURRENT;
		t->issued_at = now;
		t->expires_at = srv->cfg.refresh_expires_in > 0
		                        ? now + (double)srv->cfg.refresh_expires_in
		                        : 0;
	} else {
		t = token_add(srv, fam, idp_xstrdup(value), now);
	}
	fam->cur = t;
	fam->revoked = 0;
	free(fam->revoked_reason);
	fam->revoked_reason = NULL;
	return fam;
}

void idp_family_revoke(idp_server *srv, idp_family *fam, const char *reason)
{
	if (!fam->revoked)
		srv->st.revocations++;
	fam->revoked = 1;
	free(fam->revoked_reason);
	fam->revoked_reason = idp_xstrdup(reason);
	if (fam->at)
		idp_map_del(&srv->access, fam->at);
}

long idp_family_issue_access(idp_server *srv, idp_family *fam, double now)
{
	if (srv->cfg.same_access_token && fam->at && now < fam->at_expires)
		return (long)floor(fam->at_expires - now);
	if (fam->at) {
		idp_map_del(&srv->access, fam->at);
		free(fam->at);
	}
	fam->at = token_make(srv, "at", fam);
	fam->at_expires = now + (double)srv->cfg.expires_in;
	idp_map_put(&srv->access, fam->at, fam);
	return srv->cfg.expires_in;
}

void idp_family_rotate(idp_server *srv, idp_family *fam, double now)
{
	idp_token *old = fam->cur;
	if (old) {
		old->state = IDP_T_ROTATED;
		old->rotated_at = now;
		spent_push(fam, old->value);
	}
	fam->cur = token_add(srv, fam, token_make(srv, "rt", fam), now);
	srv->st.rotations++;
}

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

cJSON *idp_family_json(const idp_family *fam, int brief)
{
	cJSON *o = cJSON_CreateObject();
	if (!brief)
		cJSON_AddStringToObject(o, "family", fam->name);
	add_str_or_null(o, "current_refresh_token", fam->cur ? fam->cur->value : NULL);
	add_str_or_null(o, "current_access_token", fam->at);
	cJSON_AddBoolToObject(o, "revoked", fam->revoked);
	cJSON_AddNumberToObject(o, "issued", (double)fam->issued);
	if (brief)
		return o;
	if (fam->at)
		cJSON_AddNumberToObject(o, "access_expires_at", floor(fam->at_expires));
	else
		cJSON_AddNullToObject(o, "access_expires_at");
	if (fam->cur && fam->cur->expires_at > 0)
		cJSON_AddNumberToObject(o, "refresh_expires_at", floor(fam->cur->expires_at));
	else
		cJSON_AddNullToObject(o, "refresh_expires_at");
	add_str_or_null(o, "revoked_reason", fam->revoked_reason);
	cJSON_AddNumberToObject(o, "requests", (double)fam->requests);
	cJSON_AddNumberToObject(o, "grace_uses", (double)fam->grace_uses);
	cJSON_AddNumberToObject(o, "reuse_detected", (double)fam->reuse_detected);
	cJSON_AddNumberToObject(o, "double_spend", (double)fam->double_spend);
	cJSON *sp = cJSON_AddArrayToObject(o, "spent");
	for (size_t i = 0; i < fam->nspent; i++)
		cJSON_AddItemToArray(sp, cJSON_CreateString(fam->spent[i]));
	add_str_or_null(o, "last_accept", fam->last_accept);
	add_str_or_null(o, "last_auth", fam->last_auth);
	add_str_or_null(o, "last_client_id", fam->last_client_id);
	add_str_or_null(o, "last_scope", fam->last_scope);
	if (fam->last_params)
		cJSON_AddItemToObject(o, "last_params", cJSON_Duplicate(fam->last_params, 1));
	else
		cJSON_AddNullToObject(o, "last_params");
	return o;
}

cJSON *idp_stats_json(const idp_server *srv)
{
	cJSON *o = cJSON_CreateObject();
#define IDP_STAT_JSON(n) cJSON_AddNumberToObject(o, #n, (double)srv->st.n);
	IDP_STATS(IDP_STAT_JSON)
#undef IDP_STAT_JSON
	cJSON_AddNumberToObject(o, "families", (double)srv->families.n);
	return o;
}

/* ---- configuration ---- */

cJSON *idp_config_json(const idp_config *cfg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "rotation", cfg->rotation);
	cJSON_AddStringToObject(o, "reuse", cfg->reuse_strict ? "strict" : "allow");
	cJSON_AddNumberToObject(o, "grace", (double)cfg->grace);
	cJSON_AddBoolToObject(o, "same_access_token", cfg->same_access_token);
	cJSON_AddNumberToObject(o, "expires_in", (double)cfg->expires_in);
	cJSON_AddNumberToObject(o, "refresh_expires_in", (double)cfg->refresh_expires_in);
	cJSON_AddNumberToObject(o, "token_bytes", (double)cfg->token_bytes);
	cJSON_AddNumberToObject(o, "latency_ms", (double)cfg->latency_ms);
	cJSON_AddBoolToObject(o, "require_accept_json", cfg->require_accept_json);
	return o;
}

static int json_flag(const cJSON *it, int *out)
{
	if (cJSON_IsBool(it)) {
		*out = cJSON_IsTrue(it);
		return 0;
	}
	if (cJSON_IsString(it) &&
	    (!strcmp(it->valuestring, "on") || !strcmp(it->valuestring, "off"))) {
		*out = !strcmp(it->valuestring, "on");
		return 0;
	}
	return -1;
}

static int json_count(const cJSON *it, long *out)
{
	if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 1e12)
		return -1;
	*out = (long)it->valuedouble;
	return 0;
}

static int config_key(idp_config *c, const cJSON *it)
{
	const char *k = it->string;
	if (!strcmp(k, "rotation"))
		return json_flag(it, &c->rotation);
	if (!strcmp(k, "same_access_token"))
		return json_flag(it, &c->same_access_token);
	if (!strcmp(k, "require_accept_json"))
		return json_flag(it, &c->require_accept_json);
	if (!strcmp(k, "reuse")) {
		if (!cJSON_IsString(it) ||
		    (strcmp(it->valuestring, "strict") && strcmp(it->valuestring, "allow")))
			return -1;
		c->reuse_strict = !strcmp(it->valuestring, "strict");
		return 0;
	}
	if (!strcmp(k, "grace"))
		return json_count(it, &c->grace);
	if (!strcmp(k, "expires_in"))
		return json_count(it, &c->expires_in);
	if (!strcmp(k, "refresh_expires_in"))
		return json_count(it, &c->refresh_expires_in);
	if (!strcmp(k, "token_bytes"))
		return json_count(it, &c->token_bytes) || c->token_bytes > 65536 ? -1 : 0;
	if (!strcmp(k, "latency_ms"))
		return json_count(it, &c->latency_ms);
	return -1;
}

const char *idp_config_apply(idp_config *cfg, const cJSON *obj)
{
	if (!cJSON_IsObject(obj))
		return "config must be a JSON object";
	idp_config c = *cfg;
	for (const cJSON *it = obj->child; it; it = it->next)
		if (config_key(&c, it) != 0)
			return it->string;
	*cfg = c;
	return NULL;
}

/* ---- request log ---- */

void idp_log_add(idp_server *srv, cJSON *entry)
{
	srv->log_seq++;
	cJSON_AddNumberToObject(entry, "seq", (double)srv->log_seq);
	char *line = cJSON_PrintUnformatted(entry);
	cJSON_Delete(entry);
	if (!line)
		return;
	if (srv->logf) {
		fputs(line, srv->logf);
		fputc('\n', srv->logf);
		fflush(srv->logf);
	}
	char *copy = idp_xstrdup(line);
	cJSON_free(line);
	if (srv->log_n < IDP_LOG_KEEP) {
		srv->log[(srv->log_head + srv->log_n) % IDP_LOG_KEEP] = copy;
		srv->log_n++;
	} else {
		free(srv->log[srv->log_head]);
		srv->log[srv->log_head] = copy;
		srv->log_head = (srv->log_head + 1) % IDP_LOG_KEEP;
	}
}

char *idp_log_dump(const idp_server *srv, long since, size_t *len)
{
	idp_buf b = {0};
	idp_buf_adds(&b, "");
	long oldest = srv->log_seq - (long)srv->log_n + 1;
	size_t start = since >= oldest ? (size_t)(since - oldest + 1) : 0;
	for (size_t i = start; i < srv->log_n; i++) {
		idp_buf_adds(&b, srv->log[(srv->log_head + i) % IDP_LOG_KEEP]);
		idp_buf_adds(&b, "\n");
	}
	*len = b.len;
	return b.data;
}
