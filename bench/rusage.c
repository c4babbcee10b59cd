/* rusage.c - bench helper: runs a command and reports what it cost, with microsecond
 * resolution (/usr/bin/time has 10 ms):
 *   rusage OUTFILE CMD [ARG...]
 * writes one line "WALL_S USER_S SYS_S MAXRSS_KB EXIT" to OUTFILE: wall time from fork to
 * exit (CLOCK_MONOTONIC), the CPU of the command and of every descendant it waited for
 * (getrusage RUSAGE_CHILDREN: a shell loop's curl and jq count), the largest resident set of
 * any of them, and the exit status (128 + signal if killed). The command's own stdin, stdout
 * and stderr are inherited. Exits with the command's status. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	double t0, t1;
	int status = 0, code;
	pid_t pid;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage OUTFILE CMD [ARG...]\n");
		return 2;
	}
	t0 = mono_s();
	pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rusage: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("rusage: waitpid");
			return 2;
		}
	t1 = mono_s();
	if (getrusage(RUSAGE_CHILDREN, &ru) < 0) {
		perror("rusage: getrusage");
		return 2;
	}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	f = fopen(argv[1], "w");
	if (!f) {
		fprintf(stderr, "rusage: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	fprintf(f, "%.6f %.6f %.6f %ld %d\n", t1 - t0, tv_s(&ru.ru_utime), tv_s(&ru.ru_stime),
	        ru.ru_maxrss, code);
	fclose(f);
	return code;
}
