#!/bin/sh
# Review finding 10: `token` on a due account whose refresh hits a store error (the store
# is locked past the busy timeout) still prints the valid access token with a warning,
# exit 0 (DESIGN §6); with no valid token it is exit 3.
. "$(dirname "$0")/lib.sh"

idp_start
write_config "a b" '' '"timeouts": { "connect": 2, "total": 4 }, "lease_seconds": 20,'
import_seed a 120          # valid for 2 min, inside the 5 min window: due
import_seed b 120
(echo 'BEGIN EXCLUSIVE;'; sleep 14; echo 'COMMIT;') | sqlite3 "$STORE" &
LK=$!
OT_PIDS="$OT_PIDS $LK"
sleep 0.5
expect_rc 0 ot token a
[ "$(cat "$T/out")" = "A1-a" ] || fail "token a printed: $(cat "$T/out")"
grep -q "warning: a: refresh failed" "$T/err" || fail "no warning: $(cat "$T/err")"
grep -q "locked" "$T/err" || fail "the warning does not say why: $(cat "$T/err")"
wait $LK
# Store free again: the refresh works.
expect_rc 0 ot token a
[ "$(cat "$T/out")" = "$(idp_family a | jq -r .current_access_token)" ] || fail "token a after: $(cat "$T/out")"
echo ok
