#!/bin/sh
# The fan-out benchmark still runs and checks what it claims (bench/refresh-fanout): a small
# grid against the test token server, with the sequential contender and the floors. The
# benchmark itself fails unless the server counted N successful refreshes and no refresh
# token presented twice; here also every figure of the table must be there: the C=8 row's
# client CPU and its three floors (bench/curl-floor --socket and bench/store-floor) are
# numbers, not dashes.
. "$(dirname "$0")/lib.sh"

root=$(cd "$OT_E2E_DIR/../.." && pwd)
BENCH_BIN=$(cd "$(dirname "$OT_IDP")" && pwd)/bench
for b in mkstore rusage curl-floor store-floor; do
	[ -x "$BENCH_BIN/$b" ] || ot_skip "$BENCH_BIN/$b not built (make $BENCH_BIN/$b)"
done
export BENCH_BIN
sh "$root/bench/refresh-fanout" -n 60 -l 5 -c "1 8" -r 1 >"$T/out" 2>"$T/err" ||
	fail "refresh-fanout exited $?: $(tail -5 "$T/err")"
row8=$(grep -E '^60 +5 ms +C=8 ' "$T/out") || fail "no C=8 row: $(cat "$T/out")"
row1=$(grep -E '^60 +5 ms +C=1 ' "$T/out") || fail "no C=1 row: $(cat "$T/out")"
# the last four cells of the C=8 row: client CPU ... libcurl floor, store floor, floor sum
n=$(printf '%s\n' "$row8" | grep -o '[0-9][0-9]* µs' | wc -l)
[ "$n" -ge 5 ] || fail "C=8 row lacks figures (client, server CPU and three floors): $row8"
case $row8 in *—*—*—*—*) fail "C=8 row has dashes where floors belong: $row8" ;; esac
case $row1 in *'1.0x'*) ;; *) fail "C=1 row is not the sequential reference: $row1" ;; esac
echo "ok: refresh-fanout runs, checks the server's counts and prints every figure"
