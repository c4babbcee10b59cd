#!/bin/sh
# run.sh - builds the libFuzzer harnesses with clang (ASan + UBSan + LeakSanitizer) and runs
# each for a bounded time, then prints the figures (executions, coverage, corpus, crashes).
#
#   sh tests/fuzz/run.sh [-t SECONDS] [-j] [HARNESS...]   fuzz (default 30 s each; CI: -t 60)
#   sh tests/fuzz/run.sh -r [HARNESS...]                  replay seeds + regressions only
#
# HARNESS: token, config, theme (default: all). Builds into $FUZZ_BUILD (default build-fuzz/).
# Seeds are read from tests/fuzz/corpus/<h>/ (never written); new inputs grow in
# build-fuzz/corpus/<h>/. A crash, leak, timeout or out-of-memory input is copied to
# tests/fuzz/regress/<h>/ (commit it: tests/unit/test_fuzz_regress.c replays every file
# there) and the run fails. Figures go to build-fuzz/summary.txt too.
# Needs clang and libclang-rt-14-dev (Debian); skips (exit 77) without them.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
B=${FUZZ_BUILD:-build-fuzz}
CLANG=${CLANG:-clang}
secs=${FUZZ_SECONDS:-30}
replay=0
while getopts "t:r" o; do
	case $o in
	t) secs=$OPTARG ;;
	r) replay=1 ;;
	*) echo "usage: $0 [-t SECONDS] [-r] [token|config|theme]..." >&2; exit 3 ;;
	esac
done
shift $((OPTIND - 1))
harnesses=${*:-token config theme}

command -v "$CLANG" >/dev/null 2>&1 || { echo "skip: $CLANG not installed"; exit 77; }
mkdir -p "$B/obj" "$B/probe"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
	>"$B/probe/p.c"
"$CLANG" -fsanitize=fuzzer "$B/probe/p.c" -o "$B/probe/p" 2>"$B/probe/err" || {
	echo "skip: clang cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev)"
	cat "$B/probe/err"; exit 77; }

PKGS="libcurl libcjson sqlite3 libcrypto"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CF="-std=c11 -D_GNU_SOURCE -g -O1 $SAN -Iinclude -Isrc -Itests/fuzz -DOT_VERSION=\"fuzz\" \
-DOT_DATADIR=\"/nonexistent-oauthtop-fuzz\" $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lm"

# Objects of the library (and the theme loader), rebuilt when the source is newer.
objs=""
for src in src/core/*.c src/tui/theme.c; do
	o="$B/obj/$(echo "$src" | tr '/' '_' | sed 's/\.c$/.o/')"
	if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ -n "$(find include src -name '*.h' -newer "$o" 2>/dev/null | head -1)" ]; then
		# shellcheck disable=SC2086
		"$CLANG" $CF -fsanitize=fuzzer-no-link -c "$src" -o "$o" || { echo "FAIL: compiling $src"; exit 1; }
	fi
	objs="$objs $o"
done
rm -f "$B/libfuzzcore.a"
# shellcheck disable=SC2086
ar rcs "$B/libfuzzcore.a" $objs

for h in $harnesses; do
	[ -f "$here/fuzz_$h.c" ] || { echo "unknown harness $h" >&2; exit 3; }
	# shellcheck disable=SC2086
	"$CLANG" $CF -fsanitize=fuzzer "$here/fuzz_$h.c" "$B/libfuzzcore.a" $LIBS -o "$B/fuzz_$h" ||
		{ echo "FAIL: linking fuzz_$h"; exit 1; }
done

status=0
: >"$B/summary.txt"
printf '%-8s %8s %12s %9s %8s %8s %8s\n' harness seconds executions exec/s cov corpus crashes |
	tee -a "$B/summary.txt"
for h in $harnesses; do
	log="$B/fuzz_$h.log"
	art="$B/artifacts/$h"
	mkdir -p "$art" "$B/corpus/$h" "$here/regress/$h"
	rm -f "$art"/*
	opts="-max_len=16384 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1"
	if [ "$replay" = 1 ]; then
		files=$(find "$here/corpus/$h" "$here/regress/$h" -type f ! -name '.*' | sort)
		# shellcheck disable=SC2086
		"$B/fuzz_$h" $opts $files >"$log" 2>&1
		rc=$?
		n=$(echo "$files" | grep -c .)
		printf '%-8s %8s %12s %9s %8s %8s %8s\n' "$h" - "$n" replay - - \
			"$([ $rc = 0 ] && echo 0 || echo 1)" | tee -a "$B/summary.txt"
		[ $rc = 0 ] || { status=1; tail -40 "$log"; }
		continue
	fi
	start=$(date +%s)
	# shellcheck disable=SC2086
	"$B/fuzz_$h" $opts -max_total_time="$secs" -artifact_prefix="$art/" \
		"$B/corpus/$h" "$here/corpus/$h" >"$log" 2>&1
	rc=$?
	el=$(( $(date +%s) - start ))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //')
	corp=$(find "$B/corpus/$h" -type f | wc -l)
	crashes=$(find "$art" -type f | wc -l)
	for f in "$art"/*; do
		[ -f "$f" ] || continue
		cp "$f" "$here/regress/$h/$(basename "$f")"
		echo "NEW REGRESSION INPUT: tests/fuzz/regress/$h/$(basename "$f")"
	done
	printf '%-8s %8s %12s %9s %8s %8s %8s\n' "$h" "$el" "${runs:-?}" "${eps:-?}" "${cov:-?}" \
		"$corp" "$crashes" | tee -a "$B/summary.txt"
	if [ $rc != 0 ] || [ "$crashes" != 0 ]; then
		status=1
		grep -A30 'ERROR\|invariant broken\|runtime error' "$log" | head -60
	fi
done
[ $status = 0 ] && echo "fuzz: no crash" || echo "fuzz: FAILED (see $B/fuzz_*.log)"
exit $status
