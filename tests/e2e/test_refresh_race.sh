#!/bin/sh
# Row 21: two keepers at once against a strict-rotation server. Two `refresh --all --force`
# started together: every account refreshed, no refresh token presented twice (zero
# invalid_grant, zero double spend, no family revoked), store and server agree on every
# refresh token; the other keeper's leases are "skipped: held by ...", not failures. Also the
# race rule: an invalid_grant for a token another keeper rotated meanwhile is a race, not a
# reauth.
. "$(dirname "$0")/lib.sh"

idp_start --reuse strict --grace 0 --latency-ms 20
n=60
accts=""
i=1
while [ $i -le $n ]; do accts="$accts k$i"; i=$((i + 1)); done
write_config "$accts" '"max_concurrency": 16,'
for a in $accts; do import_seed $a; done

"$OAUTHTOP" --config "$T/cfg.json" refresh --all --force --concurrency 8 >"$T/one.out" 2>"$T/one.err" &
p1=$!
"$OAUTHTOP" --config "$T/cfg.json" refresh --all --force --concurrency 8 >"$T/two.out" 2>"$T/two.err" &
p2=$!
wait $p1; rc1=$?
wait $p2; rc2=$?
[ $rc1 = 0 ] && [ $rc2 = 0 ] || {
	cat "$T/one.out" "$T/one.err" "$T/two.out" "$T/two.err"; fail "exit codes $rc1 $rc2"; }
grep -h '^k[0-9]*: \(failed\|needs\|error\)' "$T/one.out" "$T/two.out" && fail "a keeper failed"
[ "$(idp_stat invalid_grant)" = 0 ] || fail "invalid_grant answers: $(idp_stat invalid_grant)"
[ "$(idp_stat double_spend)" = 0 ] || fail "a refresh token was presented twice"
[ "$(idp_stat reuse_detected)" = 0 ] || fail "reuse detected"
# Every account refreshed at least once, by one keeper or both (one after the other).
for a in $accts; do
	c=$(cat "$T/one.out" "$T/two.out" | grep -c "^$a: refreshed")
	[ "$c" -ge 1 ] || fail "$a was not refreshed by either keeper"
done
held=$(cat "$T/one.out" "$T/two.out" | grep -c ': skipped: held by refresh@')
refreshed=$(cat "$T/one.out" "$T/two.out" | grep -c ': refreshed')
[ $((held + refreshed)) = $((2 * n)) ] || fail "$held held + $refreshed refreshed != $((2 * n))"
[ "$(idp_stat successes)" = "$refreshed" ] || fail "server successes $(idp_stat successes) != $refreshed refreshed lines"
idp_admin GET /admin/families >"$T/families.json"
for a in $accts; do
	[ "$(db_rt $a)" = "$(jq -r --arg a "$a" '.[$a].current_refresh_token' "$T/families.json")" ] ||
		fail "$a: store and server disagree"
	[ "$(jq -r --arg a "$a" '.[$a].revoked' "$T/families.json")" = false ] || fail "$a revoked"
done
[ -z "$(sqlite3 "$STORE" "SELECT account FROM credentials WHERE lease_host IS NOT NULL")" ] ||
	fail "leases left behind"

# The race rule: the server says invalid_grant while another keeper has rotated the token.
# Simulated by an import that lands while our request is on its way.
idp_rule '{"family":"k1","scenario":"invalid_grant","params":{"ms":1500}}'
"$OAUTHTOP" --config "$T/cfg.json" refresh --force k1 >"$T/race.out" 2>&1 &
p=$!
sleep 0.7
# The import waits for nothing: it takes the row directly as the other keeper would.
sqlite3 "$STORE" "BEGIN IMMEDIATE; UPDATE credentials SET refresh_fp = '12345678' WHERE account = 'k1';
	UPDATE secrets SET refresh_token = 'rt-by-other' WHERE account = 'k1'; COMMIT"
wait $p; rc=$?
[ $rc = 0 ] || { cat "$T/race.out"; fail "race run exited $rc"; }
grep -q '^k1: refreshed by another keeper meanwhile' "$T/race.out" || fail "race line: $(cat "$T/race.out")"
[ "$(db_rt k1)" = rt-by-other ] || fail "the newer token was overwritten"
[ "$(db_col k1 last_outcome)" != 3 ] || fail "k1 marked as needing reauthorization"
case $(ev_last k1) in race\|*) ;; *) fail "k1 last event: $(ev_last k1)" ;; esac
echo "all passed"
