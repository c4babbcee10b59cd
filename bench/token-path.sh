#!/bin/sh
# token-path.sh - the token fast path: `oauthtop token ACCOUNT` when the token is fresh (no
# network), against the floor of a sqlite3 CLI query of the same row. Target: within 2x.
#
#   bench/token-path.sh [-r RUNS] [--md]
#
# Each command runs RUNS times (default 200, interleaved, after 10 warm-up runs each); the wall
# time of every run is measured from fork to exit by bench/rusage.c. Also measured, to say
# where the time goes: `oauthtop --version` (the executable's start: dynamic loading and
# relocation of every library it links, before any work), /bin/true (fork + exec floor),
# and the number of shared libraries each executable loads.
# Environment: OAUTHTOP (default ./oauthtop), BENCH_BIN (build/bench).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
: "${OAUTHTOP:=$root/oauthtop}" "${OT_IDP:=$root/build/oauthtop-idp}" "${BENCH_BIN:=$root/build/bench}"
runs=200 md=0
while [ $# -gt 0 ]; do
	case $1 in
	-r) runs=$2; shift ;;
	--md) md=1 ;;
	*) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 3 ;;
	esac
	shift
done
for f in "$OAUTHTOP" "$BENCH_BIN/rusage"; do
	[ -x "$f" ] || { echo "token-path: $f missing: run make bench" >&2; exit 3; }
done
export OAUTHTOP OT_IDP
. "$root/tests/e2e/lib.sh"

umask 077
printf 'test-secret' >"$T/secret"
IDP_URL=http://127.0.0.1:9 # never contacted: the token is fresh
write_config "api"
printf '{"access_token":"%s","token_type":"Bearer","expires_in":3600,"refresh_token":"seed-api"}' \
	"$(head -c 600 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 1024)" |
	ot import api - >/dev/null || fail "import"
ot token api >"$T/tok" || fail "oauthtop token api failed"
# the floor: the same row with the sqlite3 CLI (schema 2 keeps token values in secrets)
table=credentials
[ "$(sqlite3 "$STORE" "SELECT count(*) FROM sqlite_master WHERE name = 'secrets'")" = 1 ] &&
	table=secrets
query="SELECT access_token FROM $table WHERE account = 'api'"
sqlite3 "$STORE" "$query" >"$T/tok2"
cmp -s "$T/tok" "$T/tok2" || fail "oauthtop token and sqlite3 disagree"


run_cmd() { # run_cmd LABEL -> appends the wall time to $T/LABEL.t
	case $1 in
	token) "$BENCH_BIN/rusage" "$T/ru" "$OAUTHTOP" --config "$T/cfg.json" token api ;;
	sqlite3) "$BENCH_BIN/rusage" "$T/ru" sqlite3 "$STORE" "$query" ;;
	version) "$BENCH_BIN/rusage" "$T/ru" "$OAUTHTOP" --version ;;
	full) "$BENCH_BIN/rusage" "$T/ru" "$full" --config "$T/cfg.json" token api ;;
	true) "$BENCH_BIN/rusage" "$T/ru" /bin/true ;;
	empty-*) "$BENCH_BIN/rusage" "$T/ru" "$T/$1" ;;
	esac >/dev/null 2>&1 || fail "$1 failed"
	cut -d' ' -f1,2,3 "$T/ru" >>"$T/$1.t"
}

labels="token sqlite3 version true"
# The executable with the network and the console linked in (oauthtop-full beside oauthtop,
# when the build has the split): what the token path would cost without the split.
full=$(dirname "$OAUTHTOP")/oauthtop-full
if [ -x "$full" ] && "$full" --config "$T/cfg.json" token api >/dev/null 2>&1; then
	labels="$labels full"
fi
# Empty programs (main returns 0) linked like the candidates for the token path: what the
# start of an executable costs with each set of libraries, before any work.
pc() { pkg-config --libs "$@" 2>/dev/null; }
printf 'int main(void) { return 0; }\n' >"$T/empty.c"
if ${CC:-cc} -O2 -o "$T/empty-lean" "$T/empty.c" -Wl,--no-as-needed $(pc sqlite3 libcjson libcrypto) &&
	${CC:-cc} -O2 -o "$T/empty-curl" "$T/empty.c" -Wl,--no-as-needed $(pc libcurl) &&
	${CC:-cc} -O2 -o "$T/empty-all" "$T/empty.c" -Wl,--no-as-needed \
		$(pc libcurl libcjson sqlite3 libcrypto ncursesw libqrencode) 2>/dev/null; then
	labels="$labels empty-lean empty-curl empty-all"
fi
i=0
while [ "$i" -lt 10 ]; do
	for l in $labels; do run_cmd "$l"; done
	i=$((i + 1))
done
for l in $labels; do : >"$T/$l.t"; done
i=0
while [ "$i" -lt "$runs" ]; do
	for l in $labels; do run_cmd "$l"; done
	i=$((i + 1))
done

libs() { ldd "$1" 2>/dev/null | grep -c '=>'; }
nlib_ot=$(libs "$OAUTHTOP")
nlib_sq=$(libs "$(command -v sqlite3)")

stats() { # stats LABEL -> "median p90 min max cpu_median" in ms
	awk '{ w[NR] = $1 * 1000; c[NR] = ($2 + $3) * 1000 }
	function srt(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
	END { n = NR; srt(w, n); srt(c, n)
	      printf "%.2f %.2f %.2f %.2f %.2f\n", (n % 2 ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2),
	             w[int(n * 0.9 + 0.5)], w[1], w[n], c[int((n + 1) / 2)] }' "$T/$1.t"
}
set -- $(stats token); tok_med=$1 tok_p90=$2 tok_min=$3 tok_max=$4 tok_cpu=$5
set -- $(stats sqlite3); sq_med=$1 sq_p90=$2 sq_min=$3 sq_max=$4 sq_cpu=$5
set -- $(stats version); ver_med=$1 ver_p90=$2 ver_min=$3 ver_max=$4 ver_cpu=$5
set -- $(stats true); tr_med=$1 tr_p90=$2 tr_min=$3 tr_max=$4 tr_cpu=$5
full_row() {
	[ -s "$T/full.t" ] || return 0
	set -- $(stats full)
	if [ "$md" = 1 ]; then
		echo "| \`oauthtop-full token api\` (the same command in the executable that links libcurl, ncurses, qrencode) | $1 ms | $2 ms | $3–$4 ms | $5 ms | $(libs "$full") |"
	else
		printf '  %-22s %6s ms  p90 %6s  %s-%s ms  cpu %s ms  %s libs\n' "oauthtop-full token" "$1" "$2" "$3" "$4" "$5" "$(libs "$full")"
	fi
}
empty_rows() { # markdown (1) or text (0) rows of the empty programs
	for _e in lean curl all; do
		[ -s "$T/empty-$_e.t" ] || continue
		case $_e in
		lean) _what="sqlite3, cJSON, libcrypto (what a fresh-token path needs)" ;;
		curl) _what="libcurl alone" ;;
		all) _what="everything oauthtop-full links (curl, sqlite3, cJSON, crypto, ncurses, qrencode)" ;;
		esac
		set -- $(stats "empty-$_e")
		if [ "$md" = 1 ]; then
			echo "| empty \`main\` linked with $_what | $1 ms | $2 ms | $3–$4 ms | $5 ms | $(libs "$T/empty-$_e") |"
		else
			printf '  %-22s %6s ms  p90 %6s  %s-%s ms  cpu %s ms  %s libs\n' "empty-$_e" "$1" "$2" "$3" "$4" "$5" "$(libs "$T/empty-$_e")"
		fi
	done
}
ratio=$(awk -v a="$tok_med" -v b="$sq_med" 'BEGIN { printf "%.2f", a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 2 ? "met" : "MISSED") }')

if [ "$md" = 1 ]; then
	echo "| command | wall median | p90 | min–max | CPU median | shared libraries |"
	echo "|---|---|---|---|---|---|"
	echo "| \`oauthtop token api\` (fresh token) | $tok_med ms | $tok_p90 ms | $tok_min–$tok_max ms | $tok_cpu ms | $nlib_ot |"
	echo "| \`sqlite3 STORE \"$query\"\` (the floor) | $sq_med ms | $sq_p90 ms | $sq_min–$sq_max ms | $sq_cpu ms | $nlib_sq |"
	echo "| \`oauthtop --version\` (start of the executable only) | $ver_med ms | $ver_p90 ms | $ver_min–$ver_max ms | $ver_cpu ms | $nlib_ot |"
	echo "| \`/bin/true\` (fork + exec) | $tr_med ms | $tr_p90 ms | $tr_min–$tr_max ms | $tr_cpu ms | |"
	full_row
	empty_rows
	echo
	echo "Ratio token / sqlite3 floor: **${ratio}x** (target ≤ 2x: $verdict); $runs runs each, interleaved."
else
	echo "token fast path ($runs runs each; wall median, p90, min-max, CPU median):"
	printf '  %-22s %6s ms  p90 %6s  %s-%s ms  cpu %s ms  %s libs\n' "oauthtop token" \
		"$tok_med" "$tok_p90" "$tok_min" "$tok_max" "$tok_cpu" "$nlib_ot"
	printf '  %-22s %6s ms  p90 %6s  %s-%s ms  cpu %s ms  %s libs\n' "sqlite3 query" \
		"$sq_med" "$sq_p90" "$sq_min" "$sq_max" "$sq_cpu" "$nlib_sq"
	printf '  %-22s %6s ms  p90 %6s  %s-%s ms  cpu %s ms\n' "oauthtop --version" \
		"$ver_med" "$ver_p90" "$ver_min" "$ver_max" "$ver_cpu"
	printf '  %-22s %6s ms  p90 %6s  %s-%s ms  cpu %s ms\n' "/bin/true" \
		"$tr_med" "$tr_p90" "$tr_min" "$tr_max" "$tr_cpu"
	full_row
	empty_rows
	echo "  ratio token/sqlite3: ${ratio}x (target <= 2x: $verdict)"
fi
