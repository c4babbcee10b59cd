/* mkstore.c - bench helper: the accounts of a fan-out benchmark without importing them one by
 * one.
 *   mkstore config N TOKEN_URL SECRET_FILE STORE [CA_FILE]   the configuration (JSON) of N
 *       accounts b000000..: one provider "idp" with max_concurrency high enough for any run
 *   mkstore sql N EXPIRES_AT TOKEN_BYTES   SQL (one transaction) that fills the credentials table
 *       of a store created by `oauthtop import`: access token expiring at EXPIRES_AT (due),
 *       refresh token seed-NAME (a new family on the test token server), the real fingerprints
 *       (ot_fingerprint) so the rows are exactly what an import would have written.
 *       Fast, but tied to the schema version 1 (token values in credentials).
 *   mkstore put N EXPIRES_AT TOKEN_BYTES STORE   the same credentials through the library
 *       (ot_store_put, one durable transaction each: slower, right for any schema).
 * The output goes to stdout; pipe the SQL into the sqlite3 CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oauthtop/credential.h"
#include "oauthtop/secret.h"
#include "oauthtop/store.h"

#define NAME_FMT "b%06ld"

static long arg_long(const char *s, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi) {
		fprintf(stderr, "mkstore: bad number \"%s\"\n", s);
		exit(2);
	}
	return v;
}

static int print_config(int argc, char **argv)
{
	long n, i;

	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: mkstore config N TOKEN_URL SECRET_FILE STORE [CA_FILE]\n");
		return 2;
	}
	n = arg_long(argv[2], 1, 9999999);
	printf("{ \"store\": \"%s\", \"min_interval\": 0,\n", argv[5]);
	printf("  \"providers\": { \"idp\": { \"token_url\": \"%s\", \"client_id\": \"test-client\",\n"
	       "    \"client_secret_file\": \"%s\", \"max_concurrency\": 100000%s%s%s } },\n",
	       argv[3], argv[4], argc == 7 ? ", \"ca_file\": \"" : "", argc == 7 ? argv[6] : "",
	       argc == 7 ? "\"" : "");
	printf("  \"accounts\": [\n");
	for (i = 0; i < n; i++)
		printf("    { \"name\": \"" NAME_FMT "\", \"provider\": \"idp\" }%s\n", i,
		       i + 1 < n ? "," : "");
	printf("  ] }\n");
	return 0;
}

/* A token of len characters: prefix then hex filler (the idp's --token-bytes style). */
static void token_make(char *buf, size_t size, const char *prefix, long i, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = (size_t)snprintf(buf, size, "%s" NAME_FMT "-", prefix, i);
	unsigned long x = 2166136261UL ^ (unsigned long)i;

	for (; n < len && n + 1 < size; n++) {
		x = x * 16777619UL + 1013904223UL;
		buf[n] = hex[(x >> 11) & 15];
	}
	buf[n < size ? n : size - 1] = '\0';
}

static int print_sql(int argc, char **argv)
{
	char at[4096], rt[4096], name[32], afp[OT_FP_LEN], rfp[OT_FP_LEN];
	long n, i, exp_at;
	size_t bytes;
	long now = (long)time(NULL);

	if (argc != 5) {
		fprintf(stderr, "usage: mkstore sql N EXPIRES_AT TOKEN_BYTES\n");
		return 2;
	}
	n = arg_long(argv[2], 1, 9999999);
	exp_at = arg_long(argv[3], 0, 1L << 40);
	bytes = (size_t)arg_long(argv[4], 0, 4000);
	printf("BEGIN;\nDELETE FROM credentials;\n");
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), NAME_FMT, i);
		token_make(at, sizeof(at), "A1-", i, bytes);
		snprintf(rt, sizeof(rt), "seed-%s", name); /* the family is the account name */
		ot_fingerprint(at, afp);
		ot_fingerprint(rt, rfp);
		printf("INSERT INTO credentials (account, access_token, access_fp, token_type,"
		       " access_expires_at, refresh_token, refresh_fp, refresh_issued_at,"
		       " updated_at) VALUES ('%s', '%s', '%s', 'Bearer', %ld, '%s', '%s', %ld, %ld);\n",
		       name, at, afp, exp_at, rt, rfp, now, now);
	}
	printf("COMMIT;\n");
	return 0;
}

static int put_all(int argc, char **argv)
{
	char at[4096], rt[4096], name[32];
	long n, i, exp_at;
	size_t bytes;
	ot_err err = {{0}};
	ot_store *st;
	int rc = 0;

	if (argc != 6) {
		fprintf(stderr, "usage: mkstore put N EXPIRES_AT TOKEN_BYTES STORE\n");
		return 2;
	}
	n = arg_long(argv[2], 1, 9999999);
	exp_at = arg_long(argv[3], 0, 1L << 40);
	bytes = (size_t)arg_long(argv[4], 0, 4000);
	st = ot_store_open(argv[5], 0, &err);
	if (!st) {
		fprintf(stderr, "mkstore: %s\n", err.msg);
		return 1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		ot_credential c;

		memset(&c, 0, sizeof(c));
		snprintf(name, sizeof(name), NAME_FMT, i);
		token_make(at, sizeof(at), "A1-", i, bytes);
		snprintf(rt, sizeof(rt), "seed-%s", name);
		c.account = name;
		c.access_token = at;
		c.token_type = "Bearer";
		c.access_expires_at = exp_at;
		c.refresh_token = rt;
		c.has_access_token = 1;
		c.has_refresh_token = 1;
		ot_fingerprint(at, c.access_fp);
		ot_fingerprint(rt, c.refresh_fp);
		c.refresh_issued_at = (int64_t)time(NULL);
		c.updated_at = c.refresh_issued_at;
		if (ot_store_put(st, &c, &err) < 0) {
			fprintf(stderr, "mkstore: %s: %s\n", name, err.msg);
			rc = 1;
		}
	}
	ot_store_close(st);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "put") == 0)
		return put_all(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "config") == 0)
		return print_config(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "sql") == 0)
		return print_sql(argc, argv);
	fprintf(stderr, "usage: mkstore config|sql|put ...\n");
	return 2;
}
