#!/bin/sh
# DESIGN §3 step 4: a success is committed immediately, not when the other requests of its
# run finish (a rotated refresh token held in memory is one a crash loses). Two fast accounts
# and three whose answers take 3 s, all in flight together: the fast ones' new refresh tokens
# are in the store (equal to the server's) and their lines printed within 1.5 s, while the
# slow requests are still out; then everything is stored and the store agrees with the server
# on every account. And SIGTERM while the slow ones are out: they are still waited for and
# stored. (A 5 s group-commit delay in the engine fails this test.)
. "$(dirname "$0")/lib.sh"

idp_start
write_config "f1 f2 s1 s2 s3" '' '"min_interval": 0,'
for a in f1 f2 s1 s2 s3; do import_seed "$a"; done
slow_rules() {
	for a in s1 s2 s3; do
		idp_rule "{\"family\":\"$a\",\"scenario\":\"latency\",\"params\":{\"ms\":3000}}"
	done
}
stored() { [ "$(db_rt "$1")" = "$(idp_rt "$1" 2>/dev/null)" ]; }

# fast_stored_within TENTHS: both fast accounts stored and printed while refresh runs.
fast_stored_within() {
	_i=0
	until stored f1 && stored f2 && grep -q '^f2: refreshed' "$T/out" &&
		grep -q '^f1: refreshed' "$T/out"; do
		_i=$((_i + 1))
		[ "$_i" -gt "$1" ] && return 1
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null || fail "refresh ended before the slow answers came back"
	return 0
}

slow_rules
start=$(date +%s%N)
"$OAUTHTOP" --config "$T/cfg.json" refresh --all --force --concurrency 8 >"$T/out" 2>"$T/err" &
pid=$!
fast_stored_within 15 || fail "fast results not stored within 1.5 s while others were in flight: $(cat "$T/out")"
for a in s1 s2 s3; do
	[ "$(db_rt "$a")" = "seed-$a" ] || fail "$a stored before its answer: $(db_rt "$a")"
done
wait "$pid" || fail "refresh exited $?: $(cat "$T/err")"
el=$((($(date +%s%N) - start) / 1000000))
[ "$el" -ge 2900 ] || fail "the run took $el ms: the slow answers did not take 3 s"
grep -q '^refresh: 5 refreshed, 0 failed, 0 needs reauthorization, 0 skipped$' "$T/out" ||
	fail "summary: $(tail -1 "$T/out")"
for a in f1 f2 s1 s2 s3; do
	stored "$a" || fail "$a: store $(db_rt "$a") != server $(idp_rt "$a")"
	[ "$(ev_kinds "$a")" = "imported refreshed " ] || fail "$a history: $(ev_kinds "$a")"
done
[ "$(idp_stat double_spend)" = 0 ] || fail "a refresh token was presented twice"

# SIGTERM with the slow requests out: the fast results are already stored, the slow ones
# are waited for and stored too (exit 0 or the interrupted summary, never a lost token).
slow_rules
"$OAUTHTOP" --config "$T/cfg.json" refresh --all --force --concurrency 8 >"$T/out" 2>"$T/err" &
pid=$!
fast_stored_within 15 || fail "second run: fast results not stored within 1.5 s"
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "refresh after SIGTERM exited $rc: $(cat "$T/err")"
for a in f1 f2 s1 s2 s3; do
	stored "$a" || fail "after SIGTERM, $a: store $(db_rt "$a") != server $(idp_rt "$a")"
done
[ "$(idp_stat double_spend)" = 0 ] || fail "a refresh token was presented twice"
echo "ok: each result is stored as it comes, and the rest after a stop"
