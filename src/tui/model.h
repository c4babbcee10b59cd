/* model.h - the console's rows: every configured account with its stored credential (never
 * token values) and its health, kept sorted and filtered, with per-state counts.
 *
 * Cost model (100,000 accounts): health is re-evaluated only for rows whose state can change
 * at this second (a heap ordered by each row's next transition time), counts are kept
 * incrementally, and rows whose state changed are taken out of the sorted order and merged
 * back in one pass instead of the whole order being sorted again. Sorting compares
 * precomputed integer keys (the name's rank breaks ties, never strcmp). Of each credential
 * only what the table shows is kept (tui_cred). The store is re-read only when its version
 * changes. */
#ifndef OAUTHTOP_TUI_MODEL_H
#define OAUTHTOP_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oauthtop/config.h"
#include "oauthtop/credential.h"
#include "oauthtop/err.h"
#include "oauthtop/health.h"
#include "oauthtop/store.h"

#define TUI_SORTS(X)                                                                               \
	X(URGENCY, "urgency")                                                                      \
	X(NAME, "account")                                                                         \
	X(PROVIDER, "provider")                                                                    \
	X(ACCESS, "access")                                                                        \
	X(REFRESH, "refresh")                                                                      \
	X(LAST, "last refresh")                                                                    \
	X(FAILURES, "failures")

typedef enum tui_sort {
#define TUI_SORT_ENUM(id, name) TUI_SORT_##id,
	TUI_SORTS(TUI_SORT_ENUM)
#undef TUI_SORT_ENUM
	        TUI_SORT_COUNT
} tui_sort;

/* What the console keeps of a stored credential: the fields the table and the health rules
 * use, under ot_credential's names (about a third of its size; no token ever). */
typedef struct tui_cred {
	int64_t access_expires_at;
	int64_t refresh_expires_at;
	int64_t refresh_issued_at;
	int64_t last_attempt_at;
	int64_t last_success_at;
	int64_t next_attempt_at;
	int64_t lease_expires_at;
	char *last_error; /* owned; NULL none */
	char *client_fp;  /* owned; NULL none */
	int failures;
	uint8_t last_outcome; /* ot_outcome */
	bool has_access_token, has_refresh_token;
} tui_cred;

typedef struct tui_row {
	const ot_account *acct;
	tui_cred cred;     /* valid when stored */
	int64_t next_eval; /* when the state may change next */
	uint32_t heap_pos;
	uint32_t name_rank; /* position in name order: the last tie-break of every sort */
	uint16_t provider_rank;
	uint8_t state; /* ot_state at the model's clock (views evaluate health themselves) */
	bool reauth_soon;
	bool stored; /* a credential is stored */
} tui_row;

typedef struct tui_model tui_model;

/* The model borrows cfg and st. */
tui_model *model_new(const ot_config *cfg, ot_store *st);
void model_free(tui_model *m);

/* Reads every credential and the keepers from the store, evaluates health at now, sorts.
 * Returns -1 with err on a store error (the rows keep their previous data). */
int model_load(tui_model *m, int64_t now, ot_err *err);

/* Re-reads one account's credential (after a refresh landed). Returns -1 on error. */
int model_update_account(tui_model *m, const char *name, int64_t now, ot_err *err);

/* true when another process (or this one) changed the store since the last load. */
bool model_store_changed(tui_model *m);

/* Declares the store's current version seen (the changes since were this process's own,
 * already applied with model_update_account()). */
void model_store_ack(tui_model *m);

/* Advances the clock: re-evaluates the rows whose state may change at now. Returns true if
 * any row's state changed (the order or counts may have moved). */
bool model_tick(tui_model *m, int64_t now);

int64_t model_now(const tui_model *m);
size_t model_total(const tui_model *m);
/* Rows count per state (all rows, filter ignored) and how many have reauth_soon. */
size_t model_state_count(const tui_model *m, ot_state s);
size_t model_reauth_soon(const tui_model *m);

/* The visible list (sorted, filtered). */
size_t model_count(const tui_model *m);
tui_row *model_row(tui_model *m, size_t i);
/* Position of the account in the visible list, or SIZE_MAX. */
size_t model_find(const tui_model *m, const char *name);

/* Selection follows its account when the order changes. SIZE_MAX when the list is empty. */
size_t model_selected(const tui_model *m);
void model_select(tui_model *m, size_t i);
tui_row *model_selected_row(tui_model *m);

tui_sort model_sort(const tui_model *m);
void model_set_sort(tui_model *m, tui_sort s);
const char *model_sort_name(tui_sort s);

/* Case-insensitive substring of name, provider or state; "" shows every row. */
void model_set_filter(tui_model *m, const char *text);
const char *model_filter(const tui_model *m);

/* Keepers as last read from the store. */
const ot_keeper *model_keepers(const tui_model *m, size_t *n);

/* Longest account and provider names (for column widths). */
size_t model_name_width(const tui_model *m);
size_t model_provider_width(const tui_model *m);

/* The refresh-token expiry the health rules use (declared, else configured); 0 unknown. */
int64_t model_refresh_expiry(const tui_row *r);

/* The row's credential fields (zero when nothing is stored; never NULL). */
const tui_cred *model_cred(const tui_row *r);

/* The row as an ot_credential for ot_health_eval() (strings borrowed from the row, no token
 * values), filled into buf; NULL when nothing is stored. */
const ot_credential *model_cred_view(const tui_row *r, ot_credential *buf);

#endif
