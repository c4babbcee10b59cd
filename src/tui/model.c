/* model.c - rows, their health over time, order, filter and selection. No curses. */
#include "tui/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

#include "oauthtop/secret.h"

/* More changed rows than this in one tick: sort everything again instead of moving each. */
#define MOVE_LIMIT 64
/* Re-evaluate every row this often even without a known transition (belt and braces). */
#define FULL_EVAL_SECONDS 60

struct tui_model {
	const ot_config *cfg;
	ot_store *st;
	int64_t reauth_warning;
	tui_row *rows;
	size_t n;
	uint32_t *by_name; /* rows sorted by account name (lookup) */
	uint32_t *heap;    /* min-heap on next_eval */
	uint32_t *order;   /* all rows, sorted */
	uint32_t *view;    /* filtered rows in order; == order when no filter */
	size_t n_view;
	uint32_t *filtered; /* storage for view when filtering */
	size_t counts[OT_STATE_COUNT];
	size_t reauth_soon;
	tui_sort sort;
	char filter[128];
	uint32_t sel_row; /* UINT32_MAX: none */
	size_t sel;
	int64_t now;
	int64_t last_full;
	int64_t version;
	bool loaded;
	ot_keeper *keepers;
	size_t n_keepers;
	size_t name_w, provider_w;
};

static const char *const sort_names[] = {
#define TUI_SORT_NAME(id, name) name,
	TUI_SORTS(TUI_SORT_NAME)
#undef TUI_SORT_NAME
};

const char *model_sort_name(tui_sort s)
{
	return s < TUI_SORT_COUNT ? sort_names[s] : "?";
}

/* ---- comparisons ---- */

static int64_t access_key(const tui_row *r)
{
	return r->cred.account ? r->cred.access_expires_at : 0;
}

int64_t model_refresh_expiry(const tui_row *r)
{
	const ot_provider *p = r->acct->provider;

	if (!r->cred.account)
		return 0;
	if (r->cred.refresh_expires_at)
		return r->cred.refresh_expires_at;
	if (p && p->refresh_token_lifetime > 0 && r->cred.refresh_issued_at > 0)
		return r->cred.refresh_issued_at + p->refresh_token_lifetime;
	return 0;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* Unknown (0) first: an unknown access expiry is as urgent as a due one. */
static int cmp_unknown_first(int64_t a, int64_t b)
{
	if (!a || !b)
		return a ? 1 : b ? -1 : 0;
	return cmp_i64(a, b);
}

static int cmp_unknown_last(int64_t a, int64_t b)
{
	if (!a || !b)
		return a ? -1 : b ? 1 : 0;
	return cmp_i64(a, b);
}

static int cmp_urgency(const tui_row *x, const tui_row *y)
{
	int c;

	if (x->h.state != y->h.state)
		return (int)x->h.state - (int)y->h.state;
	c = cmp_unknown_first(access_key(x), access_key(y));
	return c ? c : strcmp(x->acct->name, y->acct->name);
}

static int cmp_rows(const tui_row *x, const tui_row *y, tui_sort s)
{
	int c = 0;

	switch (s) {
	case TUI_SORT_NAME:
		return strcmp(x->acct->name, y->acct->name);
	case TUI_SORT_PROVIDER:
		c = strcmp(x->acct->provider ? x->acct->provider->name : "",
			   y->acct->provider ? y->acct->provider->name : "");
		break;
	case TUI_SORT_ACCESS:
		c = cmp_unknown_first(access_key(x), access_key(y));
		break;
	case TUI_SORT_REFRESH:
		c = cmp_unknown_last(model_refresh_expiry(x), model_refresh_expiry(y));
		break;
	case TUI_SORT_LAST:
		c = cmp_i64(x->cred.last_success_at, y->cred.last_success_at);
		break;
	case TUI_SORT_FAILURES:
		c = y->cred.failures - x->cred.failures;
		break;
	default:
		break;
	}
	return c ? c : cmp_urgency(x, y);
}

static int order_cmp(const void *a, const void *b, void *arg)
{
	const tui_model *m = arg;

	return cmp_rows(&m->rows[*(const uint32_t *)a], &m->rows[*(const uint32_t *)b], m->sort);
}

static int name_cmp(const void *a, const void *b, void *arg)
{
	const tui_model *m = arg;

	return strcmp(m->rows[*(const uint32_t *)a].acct->name,
		      m->rows[*(const uint32_t *)b].acct->name);
}

/* ---- the heap of next transitions ---- */

static void heap_swap(tui_model *m, size_t i, size_t j)
{
	uint32_t t = m->heap[i];

	m->heap[i] = m->heap[j];
	m->heap[j] = t;
	m->rows[m->heap[i]].heap_pos = (uint32_t)i;
	m->rows[m->heap[j]].heap_pos = (uint32_t)j;
}

static int64_t heap_key(const tui_model *m, size_t i)
{
	return m->rows[m->heap[i]].next_eval;
}

static void heap_fix(tui_model *m, size_t i)
{
	while (i > 0 && heap_key(m, (i - 1) / 2) > heap_key(m, i)) {
		heap_swap(m, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i;
		if (l < m->n && heap_key(m, l) < heap_key(m, s))
			s = l;
		if (r < m->n && heap_key(m, r) < heap_key(m, s))
			s = r;
		if (s == i)
			return;
		heap_swap(m, i, s);
		i = s;
	}
}

static void heap_build(tui_model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		m->heap[i] = (uint32_t)i;
		m->rows[i].heap_pos = (uint32_t)i;
	}
	for (size_t i = m->n / 2; i-- > 0;)
		heap_fix(m, i);
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

/* The earliest moment the health of r may differ from its value at now. */
static int64_t next_transition(const tui_model *m, const tui_row *r, int64_t now)
{
	const ot_credential *c = &r->cred;
	int64_t best = now + FULL_EVAL_SECONDS, rexp;

	if (!c->account)
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
	m->counts[r->h.state] += (size_t)sign;
	if (r->h.reauth_soon)
		m->reauth_soon += (size_t)sign;
}

static bool row_matches(const tui_model *m, const tui_row *r)
{
	const char *f = m->filter;

	if (!*f)
		return true;
	return strcasestr(r->acct->name, f) ||
	       (r->acct->provider && strcasestr(r->acct->provider->name, f)) ||
	       strcasestr(ot_state_name(r->h.state), f);
}

/* Evaluates r at now; returns true if its state changed. Counts follow. */
static bool row_eval(tui_model *m, tui_row *r, int64_t now)
{
	ot_state old = r->h.state;

	count_row(m, r, -1);
	r->h = ot_health_eval(r->acct, r->cred.account ? &r->cred : NULL, now, m->reauth_warning);
	count_row(m, r, +1);
	r->next_eval = next_transition(m, r, now);
	return r->h.state != old;
}

/* ---- order, view and selection ---- */

static void view_rebuild(tui_model *m)
{
	uint32_t sel = m->sel_row;

	if (!m->filter[0]) {
		m->view = m->order;
		m->n_view = m->n;
		if (sel != UINT32_MAX)
			m->sel = m->rows[sel].order_pos;
	} else {
		size_t k = 0, found = SIZE_MAX;
		for (size_t i = 0; i < m->n; i++) {
			uint32_t r = m->order[i];
			if (!m->rows[r].match)
				continue;
			if (r == sel)
				found = k;
			m->filtered[k++] = r;
		}
		m->view = m->filtered;
		m->n_view = k;
		if (found != SIZE_MAX)
			m->sel = found;
	}
	if (m->n_view == 0) {
		m->sel = SIZE_MAX;
		m->sel_row = UINT32_MAX;
		return;
	}
	if (m->sel == SIZE_MAX || m->sel >= m->n_view)
		m->sel = m->n_view - 1;
	m->sel_row = m->view[m->sel];
}

static void order_sort(tui_model *m)
{
	qsort_r(m->order, m->n, sizeof(uint32_t), order_cmp, m);
	for (size_t i = 0; i < m->n; i++)
		m->rows[m->order[i]].order_pos = (uint32_t)i;
}

/* Moves one row to its place in the order (its key changed). O(n) memmove, no sort. */
static void order_move(tui_model *m, uint32_t ri)
{
	size_t p = m->rows[ri].order_pos, lo = 0, hi = m->n - 1, q;

	memmove(&m->order[p], &m->order[p + 1], (m->n - p - 1) * sizeof(uint32_t));
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cmp_rows(&m->rows[m->order[mid]], &m->rows[ri], m->sort) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	q = lo;
	memmove(&m->order[q + 1], &m->order[q], (m->n - 1 - q) * sizeof(uint32_t));
	m->order[q] = ri;
	for (size_t i = p < q ? p : q; i <= (p < q ? q : p); i++)
		m->rows[m->order[i]].order_pos = (uint32_t)i;
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
	m->heap = calloc(cap, sizeof(uint32_t));
	m->order = calloc(cap, sizeof(uint32_t));
	m->filtered = calloc(cap, sizeof(uint32_t));
	if (!m->rows || !m->by_name || !m->heap || !m->order || !m->filtered) {
		model_free(m);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		tui_row *r = &m->rows[i];
		size_t w;
		r->acct = ot_config_account(cfg, i);
		r->match = true;
		r->h.state = OT_STATE_DISABLED;
		m->counts[OT_STATE_DISABLED]++;
		m->by_name[i] = m->order[i] = (uint32_t)i;
		r->order_pos = (uint32_t)i;
		w = strlen(r->acct->name);
		if (w > m->name_w)
			m->name_w = w;
	}
	for (size_t i = 0; i < ot_config_provider_count(cfg); i++) {
		size_t w = text_width(ot_config_provider(cfg, i)->name);
		if (w > m->provider_w)
			m->provider_w = w;
	}
	qsort_r(m->by_name, n, sizeof(uint32_t), name_cmp, m);
	m->sel_row = UINT32_MAX; /* the first row once sorted */
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
		ot_credential_clear(&m->rows[i].cred);
	ot_store_keepers_free(m->keepers, m->n_keepers);
	free(m->rows);
	free(m->by_name);
	free(m->heap);
	free(m->order);
	free(m->filtered);
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
		r->h = ot_health_eval(r->acct, r->cred.account ? &r->cred : NULL, now,
				      m->reauth_warning);
		count_row(m, r, +1);
		r->next_eval = next_transition(m, r, now);
		r->match = row_matches(m, r);
	}
	heap_build(m);
	order_sort(m);
	view_rebuild(m);
	m->now = now;
	m->last_full = now;
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

int model_load(tui_model *m, int64_t now, ot_err *err)
{
	int64_t version = ot_store_version(m->st);
	ot_credential *list = NULL;
	size_t n = 0;

	if (ot_store_list(m->st, 0, &list, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < m->n; i++)
		ot_credential_clear(&m->rows[i].cred);
	for (size_t i = 0; i < n; i++) {
		uint32_t r = list[i].account ? row_by_name(m, list[i].account) : UINT32_MAX;
		if (r == UINT32_MAX)
			continue; /* stored but no longer configured */
		/* Move the record: the list slot is zeroed so that freeing the list frees
		 * only what was not moved. */
		m->rows[r].cred = list[i];
		memset(&list[i], 0, sizeof(list[i]));
		ot_secret_free(m->rows[r].cred.access_token);
		ot_secret_free(m->rows[r].cred.refresh_token);
		m->rows[r].cred.access_token = m->rows[r].cred.refresh_token = NULL;
	}
	ot_store_list_free(list, n);
	if (model_load_keepers(m, err) < 0)
		return -1;
	model_rebuild(m, now);
	m->version = version;
	m->loaded = true;
	return 0;
}

bool model_store_changed(tui_model *m)
{
	return ot_store_version(m->st) != m->version;
}

/* After r's key changed: place it in the order and refresh the view. */
static void row_reposition(tui_model *m, uint32_t ri)
{
	m->rows[ri].match = row_matches(m, &m->rows[ri]);
	order_move(m, ri);
	view_rebuild(m);
}

int model_update_account(tui_model *m, const char *name, int64_t now, ot_err *err)
{
	uint32_t ri = row_by_name(m, name);
	ot_credential c;
	int found;

	if (ri == UINT32_MAX)
		return 0;
	memset(&c, 0, sizeof(c));
	found = ot_store_get(m->st, name, 0, &c, err);
	if (found < 0)
		return -1;
	ot_credential_clear(&m->rows[ri].cred);
	if (found) {
		ot_secret_free(c.access_token);
		ot_secret_free(c.refresh_token);
		c.access_token = c.refresh_token = NULL;
		m->rows[ri].cred = c;
	}
	row_eval(m, &m->rows[ri], now);
	heap_fix(m, m->rows[ri].heap_pos);
	row_reposition(m, ri);
	return 0;
}

bool model_tick(tui_model *m, int64_t now)
{
	uint32_t changed[MOVE_LIMIT];
	size_t n_changed = 0;
	bool overflow = false;

	if (m->n == 0) {
		m->now = now;
		return false;
	}
	if (now - m->last_full >= FULL_EVAL_SECONDS || now < m->now) {
		size_t before[OT_STATE_COUNT];
		memcpy(before, m->counts, sizeof(before));
		model_rebuild(m, now);
		return memcmp(before, m->counts, sizeof(before)) != 0;
	}
	m->now = now;
	while (m->rows[m->heap[0]].next_eval <= now) {
		uint32_t ri = m->heap[0];
		if (row_eval(m, &m->rows[ri], now)) {
			if (n_changed < MOVE_LIMIT)
				changed[n_changed++] = ri;
			else
				overflow = true;
		}
		heap_fix(m, 0);
	}
	if (overflow) {
		for (size_t i = 0; i < m->n; i++)
			m->rows[i].match = row_matches(m, &m->rows[i]);
		order_sort(m);
		view_rebuild(m);
	} else if (n_changed) {
		for (size_t i = 0; i < n_changed; i++) {
			m->rows[changed[i]].match = row_matches(m, &m->rows[changed[i]]);
			order_move(m, changed[i]);
		}
		view_rebuild(m);
	}
	return n_changed > 0;
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

	if (ri == UINT32_MAX)
		return SIZE_MAX;
	if (!m->filter[0])
		return m->rows[ri].order_pos;
	for (size_t i = 0; i < m->n_view; i++)
		if (m->view[i] == ri)
			return i;
	return SIZE_MAX;
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
	return m->sel_row == UINT32_MAX || m->n_view == 0 ? NULL : &m->rows[m->sel_row];
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
	snprintf(m->filter, sizeof(m->filter), "%s", text ? text : "");
	for (size_t i = 0; i < m->n; i++)
		m->rows[i].match = row_matches(m, &m->rows[i]);
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
