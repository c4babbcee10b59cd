#!/bin/sh
# make demo: the console on the bundled test token server, with a dozen accounts in every
# state. Everything stays on 127.0.0.1; the demo's files live in build/demo (or
# $OAUTHTOP_DEMO_DIR) so that other terminals can join in while the console runs:
#     ./oauthtop --config build/demo/demo.json daemon      # a keeper; the header shows it
#     ./oauthtop --config build/demo/demo.json refresh     # changes appear within a second
# The token server stops when the console exits.
#
# What you see: ok accounts; hr-feed due now with its refresh token expiring within the week
# (the ! mark); warehouse-api, mail-relay and payroll-sync crossing the 300 s window about a
# minute after start (their rows turn "due" on their own); billing-api expired; ticket-bridge
# failing (the server answers 503 forever); crm-sync needing reauthorization (its refresh
# token was revoked); ledger-export whose refresh token expired; legacy-ftp disabled.
# Press r on a due row, R for all of them, Enter for details, ? for the keys.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
OAUTHTOP=${OAUTHTOP:-$root/oauthtop}
OT_IDP=${OT_IDP:-$root/build/oauthtop-idp}
D=${OAUTHTOP_DEMO_DIR:-$root/build/demo}

for f in "$OAUTHTOP" "$OT_IDP"; do
	[ -x "$f" ] || { echo "demo: $f is missing: run make first" >&2; exit 3; }
done
command -v curl >/dev/null 2>&1 || { echo "demo: curl is needed" >&2; exit 3; }

rm -rf "$D"
umask 077
mkdir -p "$D"
IDP=""
cleanup() {
	[ -n "$IDP" ] && kill "$IDP" 2>/dev/null && wait "$IDP" 2>/dev/null
	IDP=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The token server: two confidential clients, a little latency so refreshes are visible.
"$OT_IDP" --port 0 --port-file "$D/port" --admin-port-file "$D/aport" --quiet \
	--client acme-client:acme-secret --client globex-client:globex-secret \
	--latency-ms 700 --log "$D/idp.log" 2>"$D/idp.err" &
IDP=$!
i=0
while [ ! -s "$D/port" ] || [ ! -s "$D/aport" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { cat "$D/idp.err" >&2; echo "demo: the token server did not start" >&2; exit 3; }
	sleep 0.05
done
URL="http://127.0.0.1:$(cat "$D/port")"
ADMIN="http://127.0.0.1:$(cat "$D/aport")"
admin() { curl -sS --fail -X POST -H 'Content-Type: application/json' --data-binary "$2" "$ADMIN$1" >/dev/null; }

printf 'acme-secret' >"$D/acme.secret"
printf 'globex-secret' >"$D/globex.secret"
cat >"$D/demo.json" <<JSON
{
  "store": "$D/state/oauthtop.db",
  "window": 300,
  "providers": {
    "acme":   { "token_url": "$URL/token", "client_id": "acme-client",
                "client_secret_file": "$D/acme.secret" },
    "globex": { "token_url": "$URL/token", "client_id": "globex-client",
                "client_secret_file": "$D/globex.secret", "auth_method": "client_secret_post",
                "scope": "read write" }
  },
  "accounts": [
    { "name": "crm-sync",        "provider": "acme" },
    { "name": "ledger-export",   "provider": "globex" },
    { "name": "billing-api",     "provider": "acme" },
    { "name": "ticket-bridge",   "provider": "globex" },
    { "name": "hr-feed",         "provider": "acme" },
    { "name": "mail-relay",      "provider": "globex" },
    { "name": "warehouse-api",   "provider": "acme" },
    { "name": "payroll-sync",    "provider": "globex" },
    { "name": "search-index",    "provider": "acme" },
    { "name": "analytics-etl",   "provider": "globex" },
    { "name": "calendar-bridge", "provider": "acme" },
    { "name": "legacy-ftp",      "provider": "acme", "enabled": false }
  ]
}
JSON

ot() { "$OAUTHTOP" --config "$D/demo.json" "$@"; }
# import NAME EXPIRES_IN [EXTRA_MEMBERS]: a token answer whose refresh token seeds a family
# of the same name at the token server.
import() {
	printf '{"access_token":"at-%s-0-%s","token_type":"Bearer","expires_in":%s,"refresh_token":"seed-%s"%s}' \
		"$1" "$(date +%s)c0ffee" "$2" "$1" "${3:-}" | ot import "$1" - >/dev/null
}

import search-index 3600
import analytics-etl 7200
import calendar-bridge 5400
import hr-feed 240 ',"refresh_expires_in":432000'
import warehouse-api 360
import mail-relay 375
import payroll-sync 390
import billing-api 0
import ticket-bridge 1800
import crm-sync 1200
import ledger-export 900 ',"refresh_expires_in":1'
import legacy-ftp 3600

# ticket-bridge: the server answers 503 temporarily_unavailable for ever.
admin /admin/rules '{"family":"ticket-bridge","scenario":"unavailable","times":0,"params":{"seconds":120}}'
# crm-sync: its refresh token family was revoked at the server (reuse detected elsewhere).
admin /admin/seed '{"family":"crm-sync"}'
admin /admin/revoke '{"family":"crm-sync"}'
ot refresh ticket-bridge crm-sync >/dev/null 2>&1 || true

set +e
ot "$@"
rc=$?
set -e
echo "demo: console exited $rc; files in $D (the token server is stopped now)"
exit $rc
