/* model.c - rows, their health over time, order, filter and selection. No curses. */
#include "tui/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

#include "oauthtop/secret.h"

/* A row with no time-dependent input is still looked at this often. */
#define IDLE_EVAL_SECONDS 3600

/* Sort keys: compared as (k1, k2, name rank); all integers. */
typedef struct sort_entry {
	uint64_t k1, k2;
	uint32_t rank;
	uint32_t row;
} sort_entry;

/* The heap holds each row's key (its next_eval) beside it: sifting compares neighbours in
 * the heap rather than rows scattered over the row array. */
typedef struct heap_entry {
	int64_t at; /* == rows[row].next_eval, refreshed by heap_fix */
	uint32_t row;
} heap_entry;

struct tui_model {
	const ot_config *cfg;
	ot_store *st;
	int64_t reauth_warning;
	tui_row *rows;
	size_t n;
	uint32_t *by_name; /* rows in name order */
	heap_entry *heap;  /* min-heap on next_eval */
	uint32_t *order;   /* all rows, sorted */
	uint32_t *view;    /* filtered rows in order; == order when no filter */
	size_t n_view;
	uint32_t *filtered; /* storage for view when filtering */
	uint8_t *match;     /* per row: passes the filter */
	size_t counts[OT_STATE_COUNT];
	size_t reauth_soon;
	tui_sort sort;
	char filter[128];
	uint32_t sel_row; /* UINT32_MAX: none yet (the first row) */
	size_t sel;
	int64_t now;
	int64_t version;
	ot_keeper *keepers;
	size_t n_keepers;
	size_t name_w, provider_w;
};

static const char *const sort_names[] = {
#define TUI_SORT_NAME(id, name) name,
        TUI_SORTS(TUI_SORT_NAME)
#undef TUI_SORT_NAME
};

static const tui_cred no_cred;

const char *model_sort_name(tui_sort s)
{
	return s < TUI_SORT_COUNT ? sort_names[s] : "?";
}

const tui_cred *model_cred(const tui_row *r)
{
	return r->stored ? &r->cred : &no_cred;
}

const ot_credential *model_cred_view(const tui_row *r, ot_credential *buf)
{
	const tui_cred *c = &r->cred;

	if (!r->stored)
		return NULL;
	memset(buf, 0, sizeof(*buf));
	buf->account = (char *)r->acct->name;
	buf->has_access_token = c->has_access_token;
	buf->has_refresh_token = c->has_refresh_token;
	buf->access_expires_at = c->access_expires_at;
	buf->refresh_expires_at = c->refresh_expires_at;
	buf->refresh_issued_at = c->refresh_issued_at;
	buf->last_attempt_at = c->last_attempt_at;
	buf->last_success_at = c->last_success_at;
	buf->last_outcome = (ot_outcome)c->last_outcome;
	buf->last_error = c->last_error;
	buf->failures = c->failures;
	buf->next_attempt_at = c->next_attempt_at;
	buf->client_fp = c->client_fp;
	buf->lease_expires_at = c->lease_expires_at;
	return buf;
}

int64_t model_refresh_expiry(const tui_row *r)
{
	const ot_provider *p = r->acct->provider;

	if (!r->stored)
		return 0;
	if (r->cred.refresh_expires_at)
		return r->cred.refresh_expires_at;
	if (p && p->refresh_token_lifetime > 0 && r->cred.refresh_issued_at > 0)
		return r->cred.refresh_issued_at + p->refresh_token_lifetime;
	return 0;
}

/* Keeps what the console shows of c in r (old strings freed). */
static void row_set_cred(tui_row *r, const ot_credential *c)
{
	tui_cred *t = &r->cred;

	free(t->last_error);
	free(t->client_fp);
	memset(t, 0, sizeof(*t));
	r->stored = c != NULL;
	if (!c)
		return;
	t->access_expires_at = c->access_expires_at;
	t->refresh_expires_at = c->refresh_expires_at;
	t->refresh_issued_at = c->refresh_issued_at;
	t->last_attempt_at = c->last_attempt_at;
	t->last_success_at = c->last_success_at;
	t->next_attempt_at = c->next_attempt_at;
	t->lease_expires_at = c->lease_expires_at;
	t->last_error = c->last_error ? ot_strdup(c->last_error) : NULL;
	t->client_fp = c->client_fp ? ot_strdup(c->client_fp) : NULL;
	t->failures = c->failures;
	t->last_outcome = (uint8_t)c->last_outcome;
	t->has_access_token = c->has_access_token != 0;
	t->has_refresh_token = c->has_refresh_token != 0;
}

static ot_health row_health(const tui_model *m, const tui_row *r, int64_t now)
{
	ot_credential buf;

	return ot_health_eval(r->acct, model_cred_view(r, &buf), now, m->reauth_warning);
}

/* ---- sort keys ---- */

static uint64_t u64_time(int64_t t)
{
	return t <= 0 ? 0 : (uint64_t)t;
}

/* State first, then the access expiry (unknown first: as urgent as due). */
static uint64_t urgency_key(const tui_row *r, uint8_t state)
{
	return (uint64_t)state << 56 |
	       (u64_time(model_cred(r)->access_expires_at) & ((UINT64_C(1) << 56) - 1));
}

static sort_entry entry_of(const tui_model *m, uint32_t ri, uint8_t state)
{
	const tui_row *r = &m->rows[ri];
	const tui_cred *c = model_cred(r);
	uint64_t urg = urgency_key(r, state), rexp;
	sort_entry e = {0, urg, r->name_rank, ri};

	switch (m->sort) {
	case TUI_SORT_NAME:
		e.k1 = e.k2 = 0;
		break;
	case TUI_SORT_PROVIDER:
		e.k1 = r->provider_rank;
		break;
	case TUI_SORT_ACCESS:
		e.k1 = u64_time(c->access_expires_at);
		break;
	case TUI_SORT_REFRESH:
		rexp = u64_time(model_refresh_expiry(r));
		e.k1 = rexp ? rexp : UINT64_MAX; /* unknown last */
		break;
	case TUI_SORT_LAST:
		e.k1 = u64_time(c->last_success_at);
		break;
	case TUI_SORT_FAILURES:
		e.k1 = (uint64_t)(INT32_MAX - (c->failures > 0 ? c->failures : 0));
		break;
	default:
		e.k1 = urg;
		e.k2 = 0;
		break;
	}
	return e;
}

static int entry_cmp(const sort_entry *x, const sort_entry *y)
{
	if (x->k1 != y->k1)
		return x->k1 < y->k1 ? -1 : 1;
	if (x->k2 != y->k2)
		return x->k2 < y->k2 ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static int entry_qcmp(const void *a, const void *b)
{
	return entry_cmp(a, b);
}

/* First position in list[0..n) whose entry is not below e. */
static size_t lower_bound(const tui_model *m, const uint32_t *list, size_t n, const sort_entry *e)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		sort_entry x = entry_of(m, list[mid], m->rows[list[mid]].state);
		if (entry_cmp(&x, e) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- the heap of next transitions ---- */

/* Sifts the entry at position i down; with track, moved rows learn their new position. */
static void heap_sift_down(tui_model *m, size_t i, bool track)
{
	heap_entry *h = m->heap, e = h[i];

	for (;;) {
		size_t l = 2 * i + 1, c = l;
		if (l >= m->n)
			break;
		if (l + 1 < m->n && h[l + 1].at < h[l].at)
			c = l + 1;
		if (h[c].at >= e.at)
			break;
		h[i] = h[c];
		if (track)
			m->rows[h[i].row].heap_pos = (uint32_t)i;
		i = c;
	}
	h[i] = e;
	if (track)
		m->rows[e.row].heap_pos = (uint32_t)i;
}

/* Restores the heap after the row at position i changed its next_eval (either way). */
static void heap_fix(tui_model *m, size_t i)
{
	heap_entry *h = m->heap, e = h[i];

	e.at = m->rows[e.row].next_eval;
	while (i > 0 && h[(i - 1) / 2].at > e.at) {
		h[i] = h[(i - 1) / 2];
		m->rows[h[i].row].heap_pos = (uint32_t)i;
		i = (i - 1) / 2;
	}
	h[i] = e;
	m->rows[e.row].heap_pos = (uint32_t)i;
	heap_sift_down(m, i, true);
}

static void heap_build(tui_model *m)
{
	for (size_t i = 0; i < m->n; i++)
		m->heap[i] = (heap_entry){m->rows[i].next_eval, (uint32_t)i};
	for (size_t i = m->n / 2; i-- > 0;) /* bottom-up: sift down only */
		heap_sift_down(m, i, false);
	for (size_t i = 0; i < m->n; i++)
		m->rows[m->heap[i].row].heap_pos = (uint32_t)i;
}

/* ---- health over time ---- */

static void consider(int64_t t, int64_t now, int64_t *best)
{
	/* The boundary itself and the second after it, so that a rule written with < or <=
	 * is caught either way. */
	if (t > now && t < *best)
		*best = t;
	if (t + 1 > now && t + 1 < *best)
		*best = t + 1;
}

/* The earliest moment the health of r may differ from its value at now: every time input
 * of the health rules (access expiry and window, refresh expiry and warning, retry time). */
static int64_t next_transition(const tui_model *m, const tui_row *r, int64_t now)
{
	const tui_cred *c = &r->cred;
	int64_t best = now + IDLE_EVAL_SECONDS, rexp;

	if (!r->stored)
		return best;
	if (c->access_expires_at) {
		consider(c->access_expires_at - r->acct->window, now, &best);
		consider(c->access_expires_at, now, &best);
	}
	rexp = model_refresh_expiry(r);
	if (rexp) {
		consider(rexp, now, &best);
		consider(rexp - m->reauth_warning, now, &best);
	}
	if (c->next_attempt_at)
		consider(c->next_attempt_at, now, &best);
	if (c->lease_expires_at)
		consider(c->lease_expires_at, now, &best);
	return best;
}

static void count_row(tui_model *m, const tui_row *r, int sign)
{
	m->counts[r->state] += (size_t)sign;
	if (r->reauth_soon)
		m->reauth_soon += (size_t)sign;
}

static bool row_matches(const tui_model *m, const tui_row *r)
{
	const char *f = m->filter;

	if (!*f)
		return true;
	return strcasestr(r->acct->name, f) ||
	       (r->acct->provider && strcasestr(r->acct->provider->name, f)) ||
	       strcasestr(ot_state_name((ot_state)r->state), f);
}

/* Evaluates r at now (counts follow); returns its previous state. */
static uint8_t row_eval(tui_model *m, tui_row *r, int64_t now)
{
	uint8_t old = r->state;
	ot_health h = row_health(m, r, now);

	count_row(m, r, -1);
	r->state = (uint8_t)h.state;
	r->reauth_soon = h.reauth_soon;
	count_row(m, r, +1);
	r->next_eval = next_transition(m, r, now);
	return old;
}

/* ---- order, view and selection ---- */

/* Finds the selected row in the view again after the view changed. */
static void sel_locate(tui_model *m)
{
	if (m->n_view == 0) {
		m->sel = SIZE_MAX;
		return;
	}
	if (m->sel_row != UINT32_MAX && m->match[m->sel_row]) {
		sort_entry e = entry_of(m, m->sel_row, m->rows[m->sel_row].state);
		size_t i = lower_bound(m, m->view, m->n_view, &e);
		if (i < m->n_view && m->view[i] == m->sel_row) {
			m->sel = i;
			return;
		}
	}
	/* none yet, or filtered out: the same place in the list */
	if (m->sel == SIZE_MAX)
		m->sel = 0;
	if (m->sel >= m->n_view)
		m->sel = m->n_view - 1;
	m->sel_row = m->view[m->sel];
}

static void view_rebuild(tui_model *m)
{
	if (!m->filter[0]) {
		m->view = m->order;
		m->n_view = m->n;
	} else {
		size_t k = 0;
		for (size_t i = 0; i < m->n; i++)
			if (m->match[m->order[i]])
				m->filtered[k++] = m->order[i];
		m->view = m->filtered;
		m->n_view = k;
	}
	sel_locate(m);
}

/* Sorts e[0..n) by (k1, k2, rank), the ranks being 0..n-1 each once (name_rank): placed by
 * rank in one pass, then stable radix passes over the bytes of k2 and k1, low to high,
 * skipping a byte every entry shares (a timestamp varies in four bytes, a state in one; k2 is
 * often 0). Linear where qsort took a fifth of the console's start at 100,000 rows. tmp has
 * room for n; false (e untouched) when out of memory. */
static bool entries_sort(sort_entry *e, sort_entry *tmp, size_t n)
{
	size_t(*count)[256] = calloc(16, sizeof(*count));
	sort_entry *src = tmp, *dst = e, *t;

	if (!count)
		return false;
	for (size_t i = 0; i < n; i++)
		tmp[e[i].rank] = e[i];
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++) {
			count[b][(src[i].k2 >> (8 * b)) & 0xff]++;
			count[8 + b][(src[i].k1 >> (8 * b)) & 0xff]++;
		}
	for (int pass = 0; pass < 16 && n > 0; pass++) {
		int shift = 8 * (pass % 8);
		size_t *h = count[pass], at = 0;
		if (h[((pass < 8 ? src[0].k2 : src[0].k1) >> shift) & 0xff] == n)
			continue; /* one value: the order stands */
		for (int v = 0; v < 256; v++) {
			size_t c = h[v];
			h[v] = at;
			at += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[h[((pass < 8 ? src[i].k2 : src[i].k1) >> shift) & 0xff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != e)
		memcpy(e, src, n * sizeof(*e));
	free(count);
	return true;
}

static void order_sort(tui_model *m)
{
	size_t cap = m->n ? m->n : 1;
	sort_entry *e = malloc(cap * sizeof(sort_entry)), *tmp = malloc(cap * sizeof(sort_entry));

	if (!e || !tmp) { /* keep the old order; nothing is lost but tidiness */
		free(e);
		free(tmp);
		return;
	}
	for (size_t i = 0; i < m->n; i++)
		e[i] = entry_of(m, (uint32_t)i, m->rows[i].state);
	if (!entries_sort(e, tmp, m->n))
		qsort(e, m->n, sizeof(sort_entry), entry_qcmp);
	for (size_t i = 0; i < m->n; i++)
		m->order[i] = e[i].row;
	free(e);
	free(tmp);
}

static int pos_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Finds where row ri (sorted under state old) sits in the order; SIZE_MAX if lost. */
static size_t order_find(const tui_model *m, uint32_t ri, uint8_t old)
{
	sort_entry e = entry_of(m, ri, old);
	size_t p = lower_bound(m, m->order, m->n, &e);

	return p < m->n && m->order[p] == ri ? p : SIZE_MAX;
}

/* Takes k changed rows out of the order and merges them back at their new places: one pass
 * over the order, k binary searches, no full sort. Every row must still carry the state it
 * was sorted under (olds[]) until the positions are known; new states are in news[]. */
static void order_merge(tui_model *m, uint32_t *rows, const uint8_t *olds, const uint8_t *news,
                        size_t k)
{
	size_t *pos = malloc(k * sizeof(size_t)), *ins = malloc(k * sizeof(size_t));
	sort_entry *e = malloc(k * sizeof(sort_entry));
	size_t w = 0, j = 0, rest;

	if (!pos || !ins || !e)
		goto full;
	for (size_t i = 0; i < k; i++) {
		pos[i] = order_find(m, rows[i], olds[i]);
		if (pos[i] == SIZE_MAX)
			goto full;
	}
	for (size_t i = 0; i < k; i++)
		m->rows[rows[i]].state = news[i];
	qsort(pos, k, sizeof(size_t), pos_cmp);
	for (size_t i = 0; i < m->n; i++) { /* compact: drop the changed rows */
		if (j < k && pos[j] == i) {
			j++;
			continue;
		}
		m->order[w++] = m->order[i];
	}
	rest = w;
	for (size_t i = 0; i < k; i++)
		e[i] = entry_of(m, rows[i], news[i]);
	qsort(e, k, sizeof(sort_entry), entry_qcmp);
	for (size_t i = 0; i < k; i++)
		ins[i] = lower_bound(m, m->order, rest, &e[i]);
	/* merge from the back: the order has room for n */
	w = m->n;
	for (size_t i = k; i-- > 0;) {
		while (rest > ins[i])
			m->order[--w] = m->order[--rest];
		m->order[--w] = e[i].row;
	}
	free(pos);
	free(ins);
	free(e);
	return;
full:
	for (size_t i = 0; i < k; i++)
		m->rows[rows[i]].state = news[i];
	free(pos);
	free(ins);
	free(e);
	order_sort(m);
}

/* ---- lifecycle ---- */

static size_t text_width(const char *s)
{
	wchar_t w[128];
	size_t n = mbstowcs(w, s, 127);
	int cols;

	if (n == (size_t)-1)
		return strlen(s);
	w[n < 127 ? n : 127] = L'\0';
	cols = wcswidth(w, 127);
	return cols < 0 ? n : (size_t)cols;
}

static int by_name_cmp(const void *a, const void *b, void *arg)
{
	const tui_model *m = arg;

	return strcmp(m->rows[*(const uint32_t *)a].acct->name,
	              m->rows[*(const uint32_t *)b].acct->name);
}

/* Rows in name order: the configuration's own index (rows are its accounts in its order);
 * sorted here only if that index is not usable. name_rank must end up 0..n-1, each once
 * (entries_sort places rows by it). */
static void model_index_names(tui_model *m)
{
	bool ok = true;

	for (size_t i = 0; i < m->n && ok; i++) { /* match[] is all 0 yet: a scratch "seen" */
		size_t k = ot_config_account_by_name(m->cfg, i);
		ok = k < m->n && !m->match[k];
		if (ok)
			m->match[k] = 1;
		m->by_name[i] = (uint32_t)k;
	}
	memset(m->match, 0, m->n);
	if (!ok) {
		for (size_t i = 0; i < m->n; i++)
			m->by_name[i] = (uint32_t)i;
		qsort_r(m->by_name, m->n, sizeof(uint32_t), by_name_cmp, m);
	}
	for (size_t i = 0; i < m->n; i++)
		m->rows[m->by_name[i]].name_rank = (uint32_t)i;
}

static int provider_cmp(const void *a, const void *b)
{
	const ot_provider *x = *(const ot_provider *const *)a, *y = *(const ot_provider *const *)b;

	return strcmp(x->name, y->name);
}

static void model_rank_providers(tui_model *m)
{
	size_t np = ot_config_provider_count(m->cfg);
	const ot_provider **p = calloc(np ? np : 1, sizeof(*p));

	for (size_t i = 0; p && i < np; i++) {
		size_t w;
		p[i] = ot_config_provider(m->cfg, i);
		w = text_width(p[i]->name);
		if (w > m->provider_w)
			m->provider_w = w;
	}
	if (p)
		qsort(p, np, sizeof(*p), provider_cmp);
	for (size_t i = 0; i < m->n; i++) {
		tui_row *r = &m->rows[i];
		for (size_t k = 0; p && k < np; k++) /* few providers: a scan is fine */
			if (p[k] == r->acct->provider)
				r->provider_rank = (uint16_t)(k < UINT16_MAX ? k : UINT16_MAX);
	}
	free(p);
}

tui_model *model_new(const ot_config *cfg, ot_store *st)
{
	tui_model *m = calloc(1, sizeof(*m));
	size_t n = ot_config_account_count(cfg), cap = n ? n : 1;

	if (!m)
		return NULL;
	m->cfg = cfg;
	m->st = st;
	m->reauth_warning = ot_config_settings(cfg)->reauth_warning;
	m->n = n;
	m->rows = calloc(cap, sizeof(tui_row));
	m->by_name = calloc(cap, sizeof(uint32_t));
	m->heap = calloc(cap, sizeof(heap_entry));
	m->order = calloc(cap, sizeof(uint32_t));
	m->filtered = calloc(cap, sizeof(uint32_t));
	m->match = calloc(cap, 1);
	if (!m->rows || !m->by_name || !m->heap || !m->order || !m->filtered || !m->match) {
		model_free(m);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		tui_row *r = &m->rows[i];
		size_t w;
		r->acct = ot_config_account(cfg, i);
		r->state = OT_STATE_DISABLED;
		m->counts[OT_STATE_DISABLED]++;
		m->by_name[i] = m->order[i] = (uint32_t)i;
		w = strlen(r->acct->name);
		if (w > m->name_w)
			m->name_w = w;
	}
	model_index_names(m);
	memset(m->match, 1, n); /* no filter yet */
	model_rank_providers(m);
	m->sel_row = UINT32_MAX;
	m->sel = n ? 0 : SIZE_MAX;
	m->view = m->order;
	m->n_view = n;
	m->version = -1;
	return m;
}

void model_free(tui_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; m->rows && i < m->n; i++)
		row_set_cred(&m->rows[i], NULL);
	ot_store_keepers_free(m->keepers, m->n_keepers);
	free(m->rows);
	free(m->by_name);
	free(m->heap);
	free(m->order);
	free(m->filtered);
	free(m->match);
	free(m);
}

static uint32_t row_by_name(const tui_model *m, const char *name)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(m->rows[m->by_name[mid]].acct->name, name);
		if (c == 0)
			return m->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return UINT32_MAX;
}

/* Evaluates everything, rebuilds heap, order and view. */
static void model_rebuild(tui_model *m, int64_t now)
{
	memset(m->counts, 0, sizeof(m->counts));
	m->reauth_soon = 0;
	for (size_t i = 0; i < m->n; i++) {
		tui_row *r = &m->rows[i];
		ot_health h = row_health(m, r, now);
		r->state = (uint8_t)h.state;
		r->reauth_soon = h.reauth_soon;
		count_row(m, r, +1);
		r->next_eval = next_transition(m, r, now);
		m->match[i] = row_matches(m, r);
	}
	heap_build(m);
	order_sort(m);
	view_rebuild(m);
	m->now = now;
}

static int model_load_keepers(tui_model *m, ot_err *err)
{
	ot_keeper *k = NULL;
	size_t n = 0;

	if (ot_store_keepers(m->st, &k, &n, err) < 0)
		return -1;
	ot_store_keepers_free(m->keepers, m->n_keepers);
	m->keepers = k;
	m->n_keepers = n;
	return 0;
}

/* A walk of the store (in name order) beside the rows in name order. */
typedef struct load_walk {
	tui_model *m;
	uint8_t *seen;
	size_t next; /* position in by_name of the first name not passed yet */
} load_walk;

/* The row of a stored account. Both lists are in name order, so one cursor passes each once
 * (a merge, not a search per row); a stored name the cursor has passed or not found (another
 * order, or not configured) is searched for. */
static uint32_t load_find(load_walk *w, const char *name)
{
	const tui_model *m = w->m;

	while (w->next < m->n) {
		uint32_t ri = m->by_name[w->next];
		int c = strcmp(m->rows[ri].acct->name, name);
		if (c > 0)
			break;
		w->next++;
		if (c == 0)
			return ri;
	}
	return row_by_name(m, name);
}

static int load_row(const ot_credential *c, void *user, ot_err *err)
{
	load_walk *w = user;
	uint32_t r = c->account ? load_find(w, c->account) : UINT32_MAX;

	(void)err;
	if (r == UINT32_MAX)
		return 0; /* stored but no longer configured */
	row_set_cred(&w->m->rows[r], c);
	w->seen[r] = 1;
	return 0;
}

int model_load(tui_model *m, int64_t now, ot_err *err)
{
	int64_t version = ot_store_version(m->st);
	load_walk w = {m, calloc(m->n ? m->n : 1, 1), 0};
	int rc;

	if (!w.seen || model_load_keepers(m, err) < 0) {
		if (!w.seen)
			ot_err_set(err, "out of memory");
		free(w.seen);
		return -1;
	}
	/* Nothing is copied from the store but the few strings a row keeps (row_set_cred). */
	rc = ot_store_each(m->st, load_row, &w, err);
	for (size_t i = 0; rc == 0 && i < m->n; i++)
		if (!w.seen[i] && m->rows[i].stored)
			row_set_cred(&m->rows[i], NULL);
	free(w.seen);
	/* Rows read before a failure changed: order and counts follow them either way. */
	model_rebuild(m, now);
	if (rc < 0)
		return -1;
	m->version = version;
	return 0;
}

bool model_store_changed(tui_model *m)
{
	return ot_store_version(m->st) != m->version;
}

void model_store_ack(tui_model *m)
{
	m->version = ot_store_version(m->st);
}

int model_update_account(tui_model *m, const char *name, int64_t now, ot_err *err)
{
	uint32_t ri = row_by_name(m, name);
	tui_row *r;
	ot_credential c;
	size_t p;
	int found;

	if (ri == UINT32_MAX)
		return 0;
	r = &m->rows[ri];
	memset(&c, 0, sizeof(c));
	found = ot_store_get(m->st, name, 0, &c, err);
	if (found < 0)
		return -1;
	row_set_cred(r, found ? &c : NULL);
	ot_credential_clear(&c);
	/* Its keys changed with the credential (not only its state): find it by identity. */
	for (p = 0; p < m->n && m->order[p] != ri; p++)
		;
	row_eval(m, r, now);
	if (p < m->n) {
		sort_entry e = entry_of(m, ri, r->state);
		memmove(&m->order[p], &m->order[p + 1], (m->n - p - 1) * sizeof(uint32_t));
		p = lower_bound(m, m->order, m->n - 1, &e);
		memmove(&m->order[p + 1], &m->order[p], (m->n - 1 - p) * sizeof(uint32_t));
		m->order[p] = ri;
	}
	heap_fix(m, r->heap_pos);
	m->match[ri] = row_matches(m, r);
	view_rebuild(m);
	return 0;
}

bool model_tick(tui_model *m, int64_t now)
{
	uint32_t *rows = NULL;
	uint8_t *olds = NULL, *news = NULL;
	size_t k = 0, cap = 0;

	if (m->n == 0 || now == m->now) {
		m->now = now;
		return false;
	}
	if (now < m->now) { /* the clock went back: every transition time is off */
		size_t before[OT_STATE_COUNT];
		memcpy(before, m->counts, sizeof(before));
		model_rebuild(m, now);
		return memcmp(before, m->counts, sizeof(before)) != 0;
	}
	m->now = now;
	while (m->heap[0].at <= now) {
		uint32_t ri = m->heap[0].row;
		uint8_t old = row_eval(m, &m->rows[ri], now);
		if (old != m->rows[ri].state) {
			if (k == cap) {
				size_t c = cap ? cap * 2 : 64;
				uint32_t *r2 = realloc(rows, c * sizeof(*rows));
				uint8_t *o2 = r2 ? realloc(olds, c) : NULL;
				uint8_t *n2 = o2 ? realloc(news, c) : NULL;
				rows = r2 ? r2 : rows;
				olds = o2 ? o2 : olds;
				news = n2 ? n2 : news;
				if (!n2) { /* out of memory: the order is fixed at the next load */
					heap_fix(m, 0);
					continue;
				}
				cap = c;
			}
			rows[k] = ri;
			olds[k] = old;
			news[k] = m->rows[ri].state;
			m->rows[ri].state = old; /* until every old position is known */
			k++;
		}
		heap_fix(m, 0);
	}
	if (k) {
		order_merge(m, rows, olds, news, k);
		for (size_t i = 0; i < k && m->filter[0]; i++)
			m->match[rows[i]] = row_matches(m, &m->rows[rows[i]]);
		view_rebuild(m);
	}
	free(rows);
	free(olds);
	free(news);
	return k > 0;
}

/* ---- accessors ---- */

int64_t model_now(const tui_model *m)
{
	return m->now;
}

size_t model_total(const tui_model *m)
{
	return m->n;
}

size_t model_state_count(const tui_model *m, ot_state s)
{
	return s < OT_STATE_COUNT ? m->counts[s] : 0;
}

size_t model_reauth_soon(const tui_model *m)
{
	return m->reauth_soon;
}

size_t model_count(const tui_model *m)
{
	return m->n_view;
}

tui_row *model_row(tui_model *m, size_t i)
{
	return i < m->n_view ? &m->rows[m->view[i]] : NULL;
}

size_t model_find(const tui_model *m, const char *name)
{
	uint32_t ri = row_by_name(m, name);
	sort_entry e;
	size_t p;

	if (ri == UINT32_MAX || !m->match[ri])
		return SIZE_MAX;
	e = entry_of(m, ri, m->rows[ri].state);
	p = lower_bound(m, m->view, m->n_view, &e);
	return p < m->n_view && m->view[p] == ri ? p : SIZE_MAX;
}

size_t model_selected(const tui_model *m)
{
	return m->sel;
}

void model_select(tui_model *m, size_t i)
{
	if (m->n_view == 0)
		return;
	if (i >= m->n_view)
		i = m->n_view - 1;
	m->sel = i;
	m->sel_row = m->view[i];
}

tui_row *model_selected_row(tui_model *m)
{
	return m->sel == SIZE_MAX || m->n_view == 0 ? NULL : &m->rows[m->view[m->sel]];
}

tui_sort model_sort(const tui_model *m)
{
	return m->sort;
}

void model_set_sort(tui_model *m, tui_sort s)
{
	m->sort = s < TUI_SORT_COUNT ? s : TUI_SORT_URGENCY;
	order_sort(m);
	view_rebuild(m);
}

void model_set_filter(tui_model *m, const char *text)
{
	char before[sizeof(m->filter)];
	bool narrower;

	snprintf(before, sizeof(before), "%s", m->filter);
	snprintf(m->filter, sizeof(m->filter), "%s", text ? text : "");
	/* Typing one more character only narrows: test only the rows shown now. */
	narrower = before[0] && strcasestr(m->filter, before) == m->filter;
	if (narrower) {
		size_t k = 0;
		for (size_t i = 0; i < m->n_view; i++)
			m->match[m->view[i]] = row_matches(m, &m->rows[m->view[i]]);
		for (size_t i = 0; i < m->n_view; i++)
			if (m->match[m->view[i]])
				m->filtered[k++] = m->view[i];
		m->view = m->filtered;
		m->n_view = k;
		sel_locate(m);
		return;
	}
	for (size_t i = 0; i < m->n; i++)
		m->match[i] = row_matches(m, &m->rows[i]);
	view_rebuild(m);
}

const char *model_filter(const tui_model *m)
{
	return m->filter;
}

const ot_keeper *model_keepers(const tui_model *m, size_t *n)
{
	*n = m->n_keepers;
	return m->keepers;
}

size_t model_name_width(const tui_model *m)
{
	return m->name_w;
}

size_t model_provider_width(const tui_model *m)
{
	return m->provider_w;
}
