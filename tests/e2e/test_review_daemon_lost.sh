#!/bin/sh
# Review finding 4: the daemon resends a lost answer (row 14, truncated after rotation) at
# its retry time (5 s), not after min_interval (30 s): with a 20 s grace period it recovers.
. "$(dirname "$0")/lib.sh"

idp_start --reuse strict --grace 20
write_config "g" '' '"timeouts": { "connect": 2, "total": 4 },'
import_seed g 60
idp_rule '{"family":"g","scenario":"truncated"}'
"$OAUTHTOP" --config "$T/cfg.json" daemon --verbose 2>"$T/d.log" & D=$!
OT_PIDS="$OT_PIDS $D"
i=0
while [ $i -lt 170 ]; do
	ds=$(idp_family g 2>/dev/null | jq .double_spend 2>/dev/null)
	[ -n "$ds" ] && [ "$ds" != 0 ] && [ "$ds" != null ] && break
	sleep 0.1; i=$((i + 1))
done
kill "$D"; wait "$D"
sed 's/^/  d| /' "$T/d.log" | tail -8
[ "$(idp_family g | jq .double_spend)" = 1 ] || fail "the lost answer was not resent within 17 s"
[ "$(idp_family g | jq .revoked)" = false ] || fail "family revoked"
[ "$(db_rt g)" = "$(idp_rt g)" ] || fail "store RT $(db_rt g) != server $(idp_rt g)"
echo ok
