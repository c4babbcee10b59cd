/* cmd_status.c - `oauthtop status`: every account's state; the exit code is the worst state
 * (monitoring-plugin convention, so it also works as a Nagios/Icinga check). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/report.h"

static const char status_help[] =
	"usage: oauthtop status [--format table|json|prometheus] [--output FILE]\n\n"
	"Prints every account's state. --output writes the file atomically (temporary file +\n"
	"rename), for node_exporter's textfile collector.\n\n"
	"exit: 0 all ok; 1 any due, expired, failing or refresh token expiring soon;\n"
	"      2 any needs reauthorization; 3 configuration or store error\n";

static int emit(FILE *f, const ot_report *r, const char *format)
{
	if (strcmp(format, "json") == 0)
		return ot_report_json(f, r);
	if (strcmp(format, "prometheus") == 0)
		ot_report_prometheus(f, r);
	else
		ot_report_table(f, r);
	return 0;
}

static bool same_file(const struct stat *a, const char *path)
{
	struct stat b;

	return path && stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

/* --output replaces a report, never one of the files that hold the credentials: refused
 * when it names the configuration, the store (or its -wal / -shm), a private (0600-like)
 * file such as a client_secret_file, or something that is not a regular file. */
static int output_allowed(const ot_cli *cli, const char *path)
{
	static const char *const store_files[] = {"", "-wal", "-shm"};
	const ot_settings *set = ot_config_settings(cli->cfg);
	char side[4200];
	struct stat st;

	if (stat(path, &st) != 0)
		return 0; /* a new file */
	if (!S_ISREG(st.st_mode))
		return ot_cli_error("status: cannot write %s: not a regular file", path), -1;
	if (same_file(&st, set->path))
		return ot_cli_error("status: --output %s is the configuration file", path), -1;
	for (size_t i = 0; i < sizeof(store_files) / sizeof(store_files[0]); i++) {
		snprintf(side, sizeof(side), "%s%s", set->store_path, store_files[i]);
		if (same_file(&st, side))
			return ot_cli_error("status: --output %s is the credential store", path),
			       -1;
	}
	if (!(st.st_mode & 077))
		return ot_cli_error("status: --output %s: a private file (mode %04o), perhaps a "
		                    "secret: not replaced",
		                    path, (unsigned)(st.st_mode & 07777)),
		       -1;
	return 0;
}

/* Writes to a temporary file beside path, fsyncs, renames over path. */
static int emit_atomic(const char *path, const ot_report *r, const char *format)
{
	size_t len = strlen(path) + 16;
	char *tmp = malloc(len);
	int fd = -1, rc = -1;
	FILE *f = NULL;

	if (!tmp)
		return -1;
	snprintf(tmp, len, "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0 || fchmod(fd, 0644) < 0 || !(f = fdopen(fd, "w"))) {
		ot_cli_error("status: cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (emit(f, r, format) == 0 && fflush(f) == 0 && fsync(fileno(f)) == 0 &&
	    fclose(f) == 0) {
		f = NULL;
		if (rename(tmp, path) == 0)
			rc = 0;
	}
	if (rc < 0)
		ot_cli_error("status: cannot write %s: %s", path, strerror(errno));
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int ot_cmd_status(ot_cli *cli, int argc, char **argv)
{
	const char *format = "table", *output = NULL, *pos[1];
	bool help = false;
	int npos, rc;
	ot_report r;
	ot_opt opts[] = {{"format", 1, NULL, &format}, {"output", 1, NULL, &output}, {0}};

	if (ot_cli_parse("status", argc, argv, opts, pos, 0, &npos, &help) < 0)
		return OT_EXIT_USAGE;
	if (help) {
		fputs(status_help, stdout);
		return OT_EXIT_OK;
	}
	if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "prometheus")) {
		ot_cli_error("status: unknown format \"%s\" (table, json or prometheus)", format);
		return OT_EXIT_USAGE;
	}
	if (ot_cli_open_store(cli, false) < 0 || ot_report_build(cli, ot_cli_now(), &r) < 0)
		return OT_EXIT_USAGE;
	rc = ot_report_exit(&r);
	if (output && output_allowed(cli, output) < 0)
		rc = OT_EXIT_USAGE;
	else if (output ? emit_atomic(output, &r, format) < 0 : emit(stdout, &r, format) < 0)
		rc = OT_EXIT_USAGE;
	ot_report_free(&r);
	return rc;
}
