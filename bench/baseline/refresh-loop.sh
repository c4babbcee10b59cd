#!/bin/sh
# refresh-loop.sh - contender (a) of the refresh fan-out benchmark: the seed's job as an
# operator would write it in shell, with curl and jq, on the same store as oauthtop.
#
#   refresh-loop.sh STORE TOKEN_URL CLIENT_ID SECRET_FILE [CA_FILE]
#
# One sqlite3 query lists the due accounts (access token expiring within the 300 s window,
# like the seed's isExpired(expiresIn, 300)) with their refresh tokens; then, one account at a
# time: POST grant_type=refresh_token with curl (client_secret_basic, Accept: application/json,
# timeouts; keep-alive is impossible across curl processes), parse the answer with one jq,
# and write the new pair back with one sqlite3 transaction (durable: WAL, synchronous FULL, the
# store's own settings). A failed request keeps the stored tokens. Account names are
# [A-Za-z0-9._-] (the configuration's rule). Secrets never go on argv: curl reads them from a
# config on stdin. Not crippled: three processes per account, no sleeps, no extra queries;
# what it leaves out (fingerprints, history, leases, backoff) only makes it cheaper than
# oauthtop. Works on the store's schema 1 (tokens in credentials) and 2 (tokens in secrets).
set -u
store=$1 url=$2 client_id=$3 secret=$(cat "$4") ca=${5:-}
window=300
cacert=""
[ -n "$ca" ] && cacert="--cacert $ca"
tab=$(printf '\t')
oldifs=$IFS
set -f

now_sql="CAST(strftime('%s', 'now') AS INTEGER)"
if [ "$(sqlite3 "$store" "SELECT count(*) FROM sqlite_master WHERE name = 'secrets'")" = 1 ]; then
	list="SELECT c.account, s.refresh_token FROM credentials c JOIN secrets s USING (account)
	      WHERE s.refresh_token IS NOT NULL AND c.access_expires_at - $now_sql <= $window"
	tokens_table=secrets
else
	list="SELECT account, refresh_token FROM credentials WHERE refresh_token IS NOT NULL
	      AND access_expires_at - $now_sql <= $window"
	tokens_table=credentials
fi

sqlite3 -separator ' ' "$store" "$list" |
while read -r account rt; do
	answer=$(printf 'user = "%s:%s"\ndata-urlencode = "refresh_token=%s"\n' \
		"$client_id" "$secret" "$rt" |
		curl -sS --fail-with-body --connect-timeout 10 --max-time 30 $cacert -K - \
			-H 'Accept: application/json' -d grant_type=refresh_token "$url") || {
		echo "$account: failed"; continue; }
	# access token, expires_in, refresh token (empty if none), SQL-quoted, tab-separated
	fields=$(printf '%s' "$answer" | jq -r 'select(.access_token | type == "string" and . != "")
		| [.access_token, (.expires_in // 3600 | tonumber), (.refresh_token // "")]
		| map(tostring | gsub("'"'"'"; "'"'"''"'"'")) | @tsv') || fields=""
	[ -n "$fields" ] || { echo "$account: failed: bad answer"; continue; }
	IFS=$tab
	set -- $fields
	IFS=$oldifs
	at=$1 exp=$2 nrt=${3:-}
	sqlite3 "$store" "PRAGMA synchronous = FULL; BEGIN;
		UPDATE $tokens_table SET access_token = '$at',
			refresh_token = coalesce(nullif('$nrt', ''), refresh_token) WHERE account = '$account';
		UPDATE credentials SET access_expires_at = $now_sql + $exp, last_outcome = 1,
			last_success_at = $now_sql, failures = 0 WHERE account = '$account';
		COMMIT;" || { echo "$account: failed: store"; continue; }
	echo "$account: refreshed"
done
