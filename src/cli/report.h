/* report.h - every account with its credential and health at one moment: what `status`
 * prints in each format. Private to src/cli. */
#ifndef OAUTHTOP_CLI_REPORT_H
#define OAUTHTOP_CLI_REPORT_H

#include <stdio.h>

#include "cli/cli.h"
#include "oauthtop/health.h"

typedef struct ot_row {
	const ot_account *acct;
	const ot_credential *cred; /* NULL: nothing stored */
	ot_health h;
} ot_row;

typedef struct ot_report {
	const ot_config *cfg;
	ot_row *rows; /* most urgent first, then by name */
	size_t n;
	ot_credential *creds;
	size_t n_creds;
	ot_keeper *keepers;
	size_t n_keepers;
	int64_t now;
} ot_report;

/* Loads credentials (without token values) and keepers, evaluates health at now. Prints the
 * error and returns -1 on failure. */
int ot_report_build(ot_cli *cli, int64_t now, ot_report *r);
void ot_report_free(ot_report *r);

/* DESIGN §6: 0 all ok; 1 any due/expired/failing/reauth_soon; 2 any reauth (enabled only). */
int ot_report_exit(const ot_report *r);

void ot_report_table(FILE *f, const ot_report *r);
/* Returns -1 on out-of-memory. */
int ot_report_json(FILE *f, const ot_report *r);
/* node_exporter textfile format. */
void ot_report_prometheus(FILE *f, const ot_report *r);

#endif
