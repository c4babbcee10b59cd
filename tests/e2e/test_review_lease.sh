#!/bin/sh
# Review finding 3: a lease must not lapse under its own request.
#  - The reproduction's configuration (total 10, lease_seconds 11: `refresh --concurrency 1
#    a b` with latencies 6 s and 8 s, a second `refresh b` at 12.5 s revoked the family) is
#    refused: lease_seconds must be at least 2 x total + 10.
#  - With a legal lease, the same run and the second keeper at 12.5 s: no double spend.
#  - A leased-ahead job held back long (its lease nearly spent: the store was locked behind
#    a failing commit) gets its lease renewed before its request starts.
. "$(dirname "$0")/lib.sh"

idp_start --reuse strict
write_config "a b" '' '"timeouts": { "connect": 2, "total": 10 }, "lease_seconds": 11,'
expect_rc 3 ot refresh a
grep -q "lease_seconds: must be at least 2 x timeouts.total + 10 (30 seconds)" "$T/err" ||
	fail "no lease_seconds error: $(cat "$T/err")"

write_config "a b" '' '"timeouts": { "connect": 2, "total": 10 }, "lease_seconds": 30,'
import_seed a; import_seed b
idp_rule '{"family":"a","scenario":"latency","params":{"ms":6000}}'
idp_rule '{"family":"b","scenario":"latency","params":{"ms":8000}}'
ot refresh --concurrency 1 a b >"$T/out1" 2>&1 & R1=$!
sleep 12.5
ot refresh b >"$T/out2" 2>&1
wait $R1
cat "$T/out1" "$T/out2" | sed 's/^/  | /'
[ "$(idp_family b | jq .revoked)" = false ] || fail "b: family revoked (double spend)"
[ "$(idp_family b | jq .double_spend)" = 0 ] || fail "b: double spend"
[ "$(db_rt b)" = "$(idp_rt b)" ] || fail "b: store != server"
grep -q "^b: skipped: held by refresh@" "$T/out2" || fail "second keeper did not see b's lease: $(cat "$T/out2")"

# Renewal: a keeper that does not stop on a store error (the daemon, concurrency 1) leases
# a and b together; a's commit is held back by a locked store for ~13 s while b waits
# leased; b's request must start with a renewed lease.
write_config "a b" '' '"timeouts": { "connect": 2, "total": 10 }, "lease_seconds": 30, "concurrency": 1,'
import_seed a; import_seed b
idp_admin POST /admin/seed '{"family":"a","refresh_token":"seed-a"}' >/dev/null
idp_admin POST /admin/seed '{"family":"b","refresh_token":"seed-b"}' >/dev/null
idp_rule '{"family":"a","scenario":"latency","params":{"ms":1500}}'
idp_rule '{"family":"b","scenario":"latency","params":{"ms":4000}}'
nb() { idp_admin GET /admin/log 2>/dev/null | jq -s '[.[] | select(.family=="b")] | length'; }
N0=$(nb)
"$OAUTHTOP" --config "$T/cfg.json" daemon --verbose 2>"$T/d.log" & D=$!
OT_PIDS="$OT_PIDS $D"
i=0
while [ -z "$(db_col b lease_host)" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
(echo 'BEGIN EXCLUSIVE;'; sleep 13; echo 'COMMIT;') | sqlite3 "$STORE" & LK=$!
OT_PIDS="$OT_PIDS $LK"
# b is sent once a is stored (~14 s in): its lease, taken at 0 s for 30 s, must have been
# renewed (> 20 s left; unrenewed it would have at most 16 s).
i=0; left=""
while [ $i -lt 125 ]; do
	if [ "$(nb)" != "$N0" ]; then
		left=$(( $(db_col b lease_expires_at) - $(date +%s) )); break
	fi
	sleep 0.2; i=$((i + 1))
done
wait $LK
i=0
while [ "$(db_rt b)" != "$(idp_rt b)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill $D; wait $D
sed 's/^/  d| /' "$T/d.log" | tail -8
[ -n "$left" ] || fail "b was never sent"
[ "$left" -gt 20 ] || fail "b was sent with only ${left}s of lease left (not renewed)"
for x in a b; do
	[ "$(db_rt $x)" = "$(idp_rt $x)" ] || fail "$x: store != server"
done
echo ok
