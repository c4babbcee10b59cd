/* store-floor.c - what the durable store costs per refresh at the least: the store part of
 * `oauthtop refresh` with no HTTP, no parsing and no engine. N accounts already in STORE
 * (bench/mkstore put: names b000000...) are leased in batches of G and each batch's results
 * (a new access token and a new refresh token of TOKEN_BYTES, their fingerprints, a
 * "refreshed" history event) are committed together with the next batch's leases in one
 * transaction (ot_store_commit_lease), as the engine does; synchronous=FULL as always.
 *
 *   build/bench/store-floor STORE N G [TOKEN_BYTES (1024)]
 *
 * Prints one line: N, G, transactions, and the process's CPU per refresh (user+sys / N,
 * opening the store excluded). bench/refresh-fanout prints it beside the libcurl floor: the
 * two together are the least a durable refresh costs on this machine with these libraries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "oauthtop/credential.h"
#include "oauthtop/secret.h"
#include "oauthtop/store.h"

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
}

static char *token(const char *prefix, long i, long round, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char *t = malloc(len + 64);
	size_t n;
	unsigned long x = 2166136261UL ^ (unsigned long)(i * 131 + round);

	if (!t)
		abort();
	n = (size_t)snprintf(t, 64, "%s%ld-%ld-", prefix, i, round);
	for (; n < len; n++) {
		x = x * 16777619UL + 1013904223UL;
		t[n] = hex[(x >> 11) & 15];
	}
	t[n] = '\0';
	return t;
}

/* The result of a successful refresh of lease l (its credential moved into c). */
static void make_result(ot_lease *l, long i, size_t bytes, int64_t now, ot_credential *c,
                        ot_event *ev, char *actor)
{
	*c = l->cred;
	memset(&l->cred, 0, sizeof(l->cred));
	memset(ev, 0, sizeof(*ev));
	memcpy(ev->old_fp, c->refresh_fp, OT_FP_LEN);
	ot_secret_free(c->access_token);
	ot_secret_free(c->refresh_token);
	c->access_token = token("A2-", i, now, bytes);
	c->refresh_token = token("R2-", i, now, bytes);
	ot_fingerprint(c->access_token, c->access_fp);
	ot_fingerprint(c->refresh_token, c->refresh_fp);
	memcpy(ev->new_fp, c->refresh_fp, OT_FP_LEN);
	c->has_access_token = c->has_refresh_token = 1;
	c->access_expires_at = now + 3600;
	c->refresh_issued_at = c->last_attempt_at = c->last_success_at = c->updated_at = now;
	c->last_outcome = OT_OUTCOME_OK;
	c->failures = 0;
	c->next_attempt_at = 0;
	ev->at = now;
	ev->account = c->account;
	ev->kind = "refreshed";
	ev->actor = actor;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0, g = argc > 3 ? atol(argv[3]) : 0;
	size_t bytes = argc > 4 ? (size_t)atol(argv[4]) : 1024;
	ot_err err = {{0}};
	ot_holder h;
	ot_store *st;
	ot_lease *cur, *next;
	ot_credential *creds;
	ot_event *evs;
	ot_commit *cm;
	char(*names)[32], actor[64];
	long done = 0, tx = 0, ncur = 0;
	int rc = 1;
	int64_t now = (int64_t)time(NULL);
	double c0;

	if (argc < 4 || n < 1 || g < 1 || bytes < 16 || bytes > 16384) {
		fputs("usage: store-floor STORE N G [TOKEN_BYTES]\n", stderr);
		return 2;
	}
	st = ot_store_open(argv[1], 0, &err);
	if (!st) {
		fprintf(stderr, "store-floor: %s\n", err.msg);
		return 1;
	}
	ot_holder_init(&h, "bench");
	snprintf(actor, sizeof(actor), "refresh@bench:%ld", (long)getpid());
	names = calloc((size_t)n, sizeof(*names));
	cur = calloc((size_t)g, sizeof(*cur));
	next = calloc((size_t)g, sizeof(*next));
	creds = calloc((size_t)g, sizeof(*creds));
	evs = calloc((size_t)g, sizeof(*evs));
	cm = calloc((size_t)g, sizeof(*cm));
	if (!names || !cur || !next || !creds || !evs || !cm)
		abort();
	for (long i = 0; i < n; i++)
		snprintf(names[i], sizeof(names[i]), "b%06ld", i);
	c0 = cpu_s();
	/* the first batch's leases alone, then each batch's results with the next leases */
	for (long k = 0; k < g && k < n; k++)
		cur[ncur++].account = names[k];
	if (ot_store_lease_take(st, &h, cur, (size_t)ncur, now, 300, &err) < 0)
		goto fail;
	tx++;
	while (ncur > 0) {
		ot_store_batch b;
		long nnext = 0;

		for (long k = 0; k < ncur; k++) {
			if (!cur[k].granted) {
				snprintf(err.msg, sizeof(err.msg), "%s: lease not granted",
				         cur[k].account);
				goto fail;
			}
			make_result(&cur[k], done + k, bytes, now, &creds[k], &evs[k], actor);
			memset(&cm[k], 0, sizeof(cm[k]));
			cm[k].cred = &creds[k];
			cm[k].event = &evs[k];
			cm[k].sent_fp = evs[k].old_fp;
		}
		for (long k = done + ncur; k < n && nnext < g; k++) {
			memset(&next[nnext], 0, sizeof(next[nnext]));
			next[nnext++].account = names[k];
		}
		memset(&b, 0, sizeof(b));
		b.commits = cm;
		b.n_commits = (size_t)ncur;
		b.flags = OT_COMMIT_FPS_GIVEN;
		b.leases = next;
		b.n_leases = (size_t)nnext;
		b.now = now;
		b.seconds = 300;
		if (ot_store_commit_lease(st, &h, &b, &err) < 0 || b.skipped)
			goto fail;
		tx++;
		for (long k = 0; k < ncur; k++)
			ot_credential_clear(&creds[k]);
		done += ncur;
		ncur = nnext;
		{
			ot_lease *t = cur;
			cur = next;
			next = t;
		}
	}
	printf("store-floor: refreshes=%ld group=%ld transactions=%ld cpu=%.0f us per refresh\n",
	       done, g, tx, (cpu_s() - c0) / (double)done * 1e6);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "store-floor: %s\n", err.msg[0] ? err.msg : "results skipped");
out:
	for (long k = 0; k < g; k++) {
		ot_credential_clear(&cur[k].cred);
		ot_credential_clear(&next[k].cred);
	}
	free(names);
	free(cur);
	free(next);
	free(creds);
	free(evs);
	free(cm);
	ot_store_close(st);
	return rc;
}
