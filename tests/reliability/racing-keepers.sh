#!/bin/sh
# Racing keepers (RELIABILITY.md): four keepers on one store for a bounded time against a
# strict-rotation test token server (no grace: any refresh token presented twice revokes its
# family) with 3-second access tokens, so every account is due about every second:
#   1. `refresh --all --force` in a loop (0.2 s apart),
#   2. and 3. two daemons,
#   4. the console (script mode) pressing R (refresh what is due) and r (refresh the selected
#      row now, due or not) in turn, 300 ms apart: R alone can lose every race to the daemons
#      on a slow (sanitizer) build, and then the console never takes part.
# Proven from the server's request log and counters: zero invalid_grant, zero refresh token
# presented twice (no request with presented_state "rotated", no fingerprint presented twice),
# no family revoked; at the end the store holds every family's current refresh token.
#
# usage: racing-keepers.sh [--seconds S] [--accounts N] [--latency-ms L] [--results FILE]
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${OAUTHTOP:=$root/oauthtop}" "${OT_IDP:=$root/build/oauthtop-idp}"
export OAUTHTOP OT_IDP
unset LC_ALL; LC_COLLATE=C; export LC_COLLATE # sort, comm and join agree with SQLite

SECONDS_RUN=60 ACCOUNTS=20 LATENCY=20 RESULTS=""
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) SECONDS_RUN=$2 ;;
	--accounts) ACCOUNTS=$2 ;;
	--latency-ms) LATENCY=$2 ;;
	--results) RESULTS=$2 ;;
	*) echo "usage: racing-keepers.sh [--seconds S] [--accounts N] [--latency-ms L] [--results FILE]" >&2; exit 2 ;;
	esac
	shift 2 || exit 2
done
. "$root/tests/e2e/lib.sh"
sql() { sqlite3 -cmd '.timeout 10000' "$STORE" "$@"; }
rfail() {
	for _f in d1.log d2.log loop.out console.err; do echo "--- $_f"; tail -15 "$T/$_f"; done >&2
	fail "$*"
}

idp_start --reuse strict --grace 0 --expires-in 3 --latency-ms "$LATENCY" --log "$T/idp.log"
accts=""
i=1
while [ $i -le "$ACCOUNTS" ]; do accts="$accts r$i"; i=$((i + 1)); done
write_config "$accts" '"max_concurrency": 8,' '"window": 2, "min_interval": 1, "backoff": { "base": 1, "max": 4 },
  "lease_seconds": 20, "timeouts": { "connect": 2, "total": 4 },'
for a in $accts; do import_seed "$a" 2; done

# The console's script: R, wait 300 ms, r, wait 300 ms, ... for the whole run.
presses=$((SECONDS_RUN * 1000 / 300))
i=0
while [ $i -lt $presses ]; do
	if [ $((i % 2)) = 0 ]; then printf 'R\n:wait 300\n'; else printf 'r\n:wait 300\n'; fi
	i=$((i + 1))
done >"$T/console.script"
echo ':quit' >>"$T/console.script"

deadline=$(($(date +%s) + SECONDS_RUN))
"$OAUTHTOP" --config "$T/cfg.json" daemon --verbose 2>"$T/d1.log" & D1=$!
"$OAUTHTOP" --config "$T/cfg.json" daemon --verbose 2>"$T/d2.log" & D2=$!
OT_PIDS="$OT_PIDS $D1 $D2"
env LANG=C.UTF-8 TERM=xterm-256color OAUTHTOP_SCRIPT="$T/console.script" \
	"$OAUTHTOP" --config "$T/cfg.json" tui >/dev/null 2>"$T/console.err" & C=$!
OT_PIDS="$OT_PIDS $C"
runs=0 loop_bad=0
: >"$T/loop.out"
while [ "$(date +%s)" -lt $deadline ]; do
	"$OAUTHTOP" --config "$T/cfg.json" refresh --all --force >"$T/run.out" 2>&1
	rc=$?
	cat "$T/run.out" >>"$T/loop.out"
	[ $rc = 0 ] || loop_bad=$((loop_bad + 1))
	runs=$((runs + 1))
	sleep 0.2 # leave the others due accounts too
done
wait $C; crc=$?
kill -0 $D1 2>/dev/null && kill -0 $D2 2>/dev/null || rfail "a daemon died"
kill -TERM $D1 $D2
wait $D1; rc1=$?
wait $D2; rc2=$?

# The server's truth.
ok=$(idp_stat successes)
ig=$(idp_stat invalid_grant)
ds=$(idp_stat double_spend)
rd=$(idp_stat reuse_detected)
rotated=$(jq -s '[.[] | select(.presented_state == "rotated")] | length' "$T/idp.log")
twice=$(jq -s '[.[] | select(.grant == "refresh_token") | .presented] | group_by(.) | map(select(length > 1)) | length' "$T/idp.log")
bad=$(jq -s '[.[] | select(.outcome != "ok")] | length' "$T/idp.log")
logged=$(jq -s 'length' "$T/idp.log")
idp_admin GET /admin/families >"$T/families.json" || rfail "families"
revoked=$(jq '[.[] | select(.revoked)] | length' "$T/families.json")
jq -r 'to_entries[] | "\(.key) \(.value.current_refresh_token)"' "$T/families.json" | sort >"$T/server"
sql "SELECT account || ' ' || refresh_token FROM credentials LEFT JOIN secrets USING (account)" | sort >"$T/store"
agree=$(comm -12 "$T/server" "$T/store" | wc -l)
# How often the keepers met each other: leases held by another live keeper.
held_loop=$(grep -c ': skipped: held by' "$T/loop.out")
held_daemons=$(cat "$T/d1.log" "$T/d2.log" | grep -c 'held by')
# Who refreshed: the history's actor (kind@host:pid) of every "refreshed" event.
by_actor() { sql "SELECT count(*) FROM events WHERE kind = 'refreshed' AND actor LIKE '$1'"; }
by_d1=$(by_actor "daemon@%:$D1")
by_d2=$(by_actor "daemon@%:$D2")
by_loop=$(by_actor 'refresh@%')
by_console=$(by_actor 'console@%')

line="racing-keepers: seconds=$SECONDS_RUN accounts=$ACCOUNTS keepers=4 force_runs=$runs console_presses=$presses"
line="$line refreshes=$ok (daemon1 $by_d1, daemon2 $by_d2, refresh-loop $by_loop, console $by_console)"
line="$line lease_meetings=$((held_loop + held_daemons)) invalid_grant=$ig double_spend=$ds reuse_detected=$rd"
line="$line rotated_presented=$rotated fp_presented_twice=$twice non_ok_answers=$bad/$logged revoked=$revoked"
line="$line store_agrees=$agree/$ACCOUNTS exits=daemon:$rc1,$rc2 console:$crc loop_nonzero=$loop_bad"
echo "$line"
[ -n "$RESULTS" ] && echo "$line" >>"$RESULTS"

[ "$ig" = 0 ] && [ "$ds" = 0 ] && [ "$rd" = 0 ] || rfail "invalid_grant $ig, double_spend $ds, reuse_detected $rd"
[ "$rotated" = 0 ] && [ "$twice" = 0 ] && [ "$bad" = 0 ] || rfail "the server's log shows a token presented twice or a failure"
[ "$revoked" = 0 ] || rfail "$revoked families revoked"
[ "$agree" = "$ACCOUNTS" ] || rfail "store and server disagree on $((ACCOUNTS - agree)) accounts"
[ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ "$crc" = 0 ] || rfail "exit codes: daemons $rc1 $rc2, console $crc"
[ "$loop_bad" = 0 ] || rfail "$loop_bad refresh runs exited non-zero"
[ $((by_d1 + by_d2 + by_loop + by_console)) = "$ok" ] || rfail "history has $((by_d1 + by_d2 + by_loop + by_console)) refreshes, the server $ok"
[ "$by_d1" -gt 0 ] && [ "$by_d2" -gt 0 ] && [ "$by_loop" -gt 0 ] || rfail "a keeper never refreshed"
[ "$by_console" -gt 0 ] || rfail "the console never refreshed"
[ "$(sql 'SELECT count(*) FROM credentials WHERE lease_host IS NOT NULL')" = 0 ] || rfail "leases left"
exit 0
