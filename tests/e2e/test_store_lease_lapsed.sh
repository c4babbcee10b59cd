#!/bin/sh
# A result whose lease lapsed while its request was out (another keeper has it now) is still
# stored when nobody rotated the refresh token it sent: the new refresh token is not lost.
# The other keeper keeps its lease (its own request would be refused and see the race).
# Once the token was rotated meanwhile, the late result is not stored.
. "$(dirname "$0")/lib.sh"

idp_start --reuse strict --grace 0
write_config "a b"
import_seed a; import_seed b
for x in a b; do
	idp_admin POST /admin/seed "{\"family\":\"$x\",\"refresh_token\":\"seed-$x\"}" >/dev/null
done
idp_rule '{"family":"a","scenario":"latency","params":{"ms":2500}}'
idp_rule '{"family":"b","scenario":"latency","params":{"ms":2500}}'
ot refresh --force a b >"$T/out" 2>&1 & R=$!
i=0
while [ -z "$(db_col b lease_host)" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.5
# both leases lapse and go to a keeper on another host; b's token is rotated by it meanwhile
sqlite3 "$STORE" "UPDATE credentials SET lease_host = 'other-host', lease_pid = 7,
	lease_ns = 0, lease_start = 0, lease_expires_at = strftime('%s','now') + 300" ||
	fail "sqlite3"
sqlite3 "$STORE" "UPDATE credentials SET refresh_fp = 'ffffffff' WHERE account = 'b'"
wait $R
sed 's/^/  | /' "$T/out"
grep -q "^a: refreshed" "$T/out" || fail "a: not reported refreshed"
[ "$(db_rt a)" = "$(idp_rt a)" ] || fail "a: the new refresh token was lost"
[ "$(db_col a lease_host)" = other-host ] || fail "a: the other keeper's lease was taken away"
[ "$(db_col b refresh_fp)" = ffffffff ] || fail "b: a rotated token was overwritten"
grep -q "^b: .*result not stored" "$T/out" || fail "b: late result not reported as not stored"
echo ok
