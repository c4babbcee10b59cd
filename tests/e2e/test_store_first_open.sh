#!/bin/sh
# Several processes opening a store that does not exist yet (a fleet of cron jobs on a new
# machine): each sees either no store or the whole schema, never "not an oauthtop store".
set -u
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cat >"$T/cfg.json" <<JSON
{ "providers": { "p": { "token_url": "https://127.0.0.1:1/t", "client_id": "c", "auth_method": "none" } },
  "accounts": [ { "name": "a", "provider": "p" } ] }
JSON
for round in 1 2 3 4 5 6 7 8 9 10; do
	rm -rf "$T/s"
	for i in 1 2 3 4 5 6; do
		"$OAUTHTOP" --config "$T/cfg.json" --store "$T/s/db" status --format json \
			>/dev/null 2>>"$T/err" &
	done
	wait
done
if grep -v 'reauth' "$T/err" | grep -q .; then
	echo "FAIL: concurrent first opens reported errors:"; sort "$T/err" | uniq -c; exit 1
fi
echo "all passed: 10 rounds of 6 concurrent first opens"
