#!/bin/sh
# The test token server itself, with curl only: port file, seeding, Basic/post/public client
# auth (secrets with + / = % : round-trip), rotation + strict reuse detection, grace period,
# rotation off, same access token, client_credentials, request checks, stats, the request log
# (no token values), non-blocking latency, HTTPS with the test CA, clean exit on SIGTERM.
set -u
[ -n "${OT_IDP:-}" ] && [ -x "$OT_IDP" ] || { echo "OT_IDP not set"; exit 77; }
command -v curl >/dev/null && command -v jq >/dev/null || { echo "needs curl and jq"; exit 77; }
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/body" ] && { echo "last body:"; head -c 600 "$T/body"; echo; }; exit 1; }

# start_idp DIR ARGS... : starts the server, waits for DIR/port; sets URL, AURL, IDP_PID
start_idp() {
	d=$1; shift
	mkdir -p "$d"
	"$OT_IDP" --port 0 --port-file "$d/port" --admin-port-file "$d/aport" --log "$d/log" --quiet "$@" &
	IDP_PID=$!
	PIDS="$PIDS $IDP_PID"
	i=0
	while [ ! -s "$d/port" ]; do
		sleep 0.05; i=$((i + 1))
		[ $i -lt 200 ] || fail "idp did not start: $*"
	done
	AURL=http://127.0.0.1:$(cat "$d/aport")
}
# refresh RT [curl args...] -> prints the HTTP status, body in $T/body
refresh() {
	rt=$1; shift
	curl -s -o "$T/body" -w '%{http_code}' -u test-client:test-secret -H 'Accept: application/json' \
		--data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$rt" "$@" "$URL/token"
}
body() { jq -r "$1" "$T/body"; }
stat_of() { curl -s "$AURL/admin/stats" | jq -r ".$1"; }
fam() { curl -s "$AURL/admin/family/$1" | jq -r ".$2"; }
admin() { curl -s -o "$T/admin" -w '%{http_code}' -H 'Content-Type: application/json' -X "$1" --data "$3" "$AURL/admin/$2"; }
expect() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }
ms() { date +%s%3N; }

start_idp "$T/a" --client 'weird:s+/=%:x y' --public-client pub
URL=http://127.0.0.1:$(cat "$T/a/port")
expect "$AURL" "$URL" "admin port equals the main port without TLS"

# 1. seed, refresh with Basic auth, rotation: the family's current token is the one answered
expect "$(refresh seed-billing)" 200 "first refresh of seed-billing"
R1=$(body .refresh_token); A1=$(body .access_token)
case "$R1" in rt-billing-1-*) ;; *) fail "refresh token '$R1' not rt-billing-1-*";; esac
case "$A1" in at-billing-1-*) ;; *) fail "access token '$A1'";; esac
expect "$(body .token_type)/$(body .expires_in)" "Bearer/3600" "token_type/expires_in"
expect "$(fam billing current_refresh_token)" "$R1" "server's current RT after rotation"
expect "$(refresh "$R1")" 200 "refresh with R1"
R2=$(body .refresh_token)
[ "$R2" != "$R1" ] || fail "rotation on but the refresh token did not change"
expect "$(fam billing current_refresh_token)" "$R2" "current RT after the second refresh"
expect "$(fam billing 'spent | length')" 2 "two spent tokens"
expect "$(fam billing issued)" 2 "issued"
expect "$(fam billing last_accept)" "application/json" "Accept recorded"
expect "$(fam billing last_auth)" "basic" "auth method recorded"

# 2. strict reuse detection: the rotated R1 again revokes the family, R2 is dead too
expect "$(refresh "$R1")" 400 "reusing R1"
expect "$(body .error)" invalid_grant "reuse answer error"
expect "$(body .error_description)" "refresh token reuse detected" "reuse description"
expect "$(refresh "$R2")" 400 "current token after the family was revoked"
expect "$(fam billing revoked)" true "family revoked"
expect "$(stat_of reuse_detected)" 1 "reuse_detected"
expect "$(stat_of double_spend)" 1 "double_spend"
expect "$(refresh never-issued)" 400 "unknown token"
expect "$(body .error)" invalid_grant "unknown token error"

# 3. grace period: the previous token is accepted again within it, counted as a grace use
expect "$(admin POST config '{"grace":30}')" 200 "set grace"
expect "$(refresh seed-g)" 200 "seed-g"; G1=$(body .refresh_token)
expect "$(refresh "$G1")" 200 "G1"; G2=$(body .refresh_token)
expect "$(refresh "$G1")" 200 "G1 again inside the grace period"; G3=$(body .refresh_token)
[ "$G3" != "$G2" ] || fail "grace use returned the same RT"
expect "$(fam g current_refresh_token)" "$G3" "current after grace use"
expect "$(fam g grace_uses)" 1 "grace_uses"
expect "$(fam g revoked)" false "grace use does not revoke"
expect "$(admin POST config '{"grace":0}')" 200 "grace off"
expect "$(refresh "$G1")" 400 "G1 after grace switched off"
expect "$(fam g revoked)" true "reuse outside grace revokes"

# 4. rotation off: same RT every time; same access token while valid (ServiceNow)
DS=$(stat_of double_spend)
expect "$(admin POST config '{"rotation":false,"same_access_token":true,"expires_in":1800}')" 200 "config"
expect "$(refresh seed-sn)" 200 "seed-sn"; S1=$(body .refresh_token); SA=$(body .access_token)
expect "$S1" seed-sn "rotation off keeps the RT"
sleep 1.1
expect "$(refresh seed-sn)" 200 "seed-sn again"
expect "$(body .refresh_token)" seed-sn "rotation off, second answer"
expect "$(body .access_token)" "$SA" "same access token while valid"
[ "$(body .expires_in)" -lt 1800 ] || fail "same access token: expires_in $(body .expires_in) not smaller"
expect "$(stat_of double_spend)" "$DS" "rotation off: presenting the same RT is no double spend"
expect "$(admin POST config '{"rotation":true,"same_access_token":false,"expires_in":3600}')" 200 "config back"

# 5. client authentication: encoded Basic with + / = % : and space, post, public, wrong ones
enc=$(printf '%s' 'weird:s%2B%2F%3D%25%3Ax+y' | base64 | tr -d '\n')
raw=$(printf '%s' 'weird:s+/=%:x y' | base64 | tr -d '\n')
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Basic $enc" -d grant_type=refresh_token -d refresh_token=seed-c1 "$URL/token")
expect "$code" 200 "form-url-encoded Basic credentials"
code=$(curl -s -o "$T/body" -w '%{http_code}' -D "$T/hdr" -H "Authorization: Basic $raw" -d grant_type=refresh_token -d refresh_token=seed-c2 "$URL/token")
expect "$code" 401 "unencoded Basic credentials with special characters"
expect "$(body .error)" invalid_client "unencoded: error"
grep -qi '^WWW-Authenticate: Basic' "$T/hdr" || fail "401 without WWW-Authenticate"
code=$(curl -s -o "$T/body" -w '%{http_code}' --data-urlencode grant_type=refresh_token --data-urlencode refresh_token=seed-c3 \
	--data-urlencode client_id=weird --data-urlencode 'client_secret=s+/=%:x y' "$URL/token")
expect "$code" 200 "client_secret_post"
expect "$(fam c3 last_auth)" post "post recorded"
code=$(curl -s -o "$T/body" -w '%{http_code}' -d grant_type=refresh_token -d refresh_token=seed-c4 -d client_id=pub "$URL/token")
expect "$code" 200 "public client"
code=$(curl -s -o "$T/body" -w '%{http_code}' -d grant_type=refresh_token -d refresh_token=seed-c5 -d client_id=test-client "$URL/token")
expect "$code" 401 "confidential client without secret"
code=$(curl -s -o "$T/body" -w '%{http_code}' -u test-client:wrong -d grant_type=refresh_token -d refresh_token=seed-c6 "$URL/token")
expect "$code" 401 "wrong secret"
code=$(curl -s -o "$T/body" -w '%{http_code}' -u test-client:test-secret -d client_secret=test-secret -d grant_type=refresh_token -d refresh_token=seed-c7 "$URL/token")
expect "$code" 400 "two client authentication methods"

# 6. request checks: POST, form content type, body size, grant types
code=$(curl -s -o "$T/body" -w '%{http_code}' -u test-client:test-secret "$URL/token?grant_type=refresh_token")
expect "$code" 405 "GET /token"
code=$(curl -s -o "$T/body" -w '%{http_code}' -u test-client:test-secret -H 'Content-Type: application/json' --data '{"grant_type":"refresh_token","refresh_token":"seed-j"}' "$URL/token")
expect "$code" 400 "JSON body"
expect "$(body .error)" invalid_request "JSON body error"
head -c 1100000 /dev/zero | tr '\0' a >"$T/big"
code=$(curl -s -o "$T/body" -w '%{http_code}' -u test-client:test-secret --data-binary "@$T/big" -H 'Content-Type: application/x-www-form-urlencoded' "$URL/token")
expect "$code" 413 "body over 1 MiB"
code=$(curl -s -o "$T/body" -w '%{http_code}' -u test-client:test-secret -d grant_type=password "$URL/token")
expect "$code" 400 "password grant"
expect "$(body .error)" unsupported_grant_type "password grant error"
code=$(curl -s -o "$T/body" -w '%{http_code}' -u test-client:test-secret -d grant_type=refresh_token -d 'refresh_token=%zz' "$URL/token")
expect "$code" 400 "bad percent escape"
code=$(curl -s -o "$T/body" -w '%{http_code}' -u test-client:test-secret -d grant_type=client_credentials "$URL/token")
expect "$code" 200 "client_credentials"
[ "$(body .refresh_token)" = null ] || fail "client_credentials answered a refresh token"
expect "$(fam client:test-client issued)" 1 "client_credentials family"

# 7. scenario rules: error answers keep the token; truncated rotates first; skip; times
expect "$(admin POST rules '{"family":"s","scenario":"invalid_grant","skip":1}')" 200 "add rule"
expect "$(refresh seed-s)" 200 "skipped first match"; S1=$(body .refresh_token)
expect "$(refresh "$S1")" 400 "invalid_grant scenario"
expect "$(body .error_description)" "Token has been expired or revoked." "scenario description"
expect "$(refresh "$S1")" 200 "rule used up (times 1): token still valid"
S2=$(body .refresh_token)
expect "$(admin POST rules '{"family":"s","scenario":"truncated"}')" 200 "add truncated"
expect "$(refresh "$S2")" 200 "truncated answer status"
expect "$(cat "$T/body")" '{"access_token":"A2","refr' "truncated body"
[ "$(fam s current_refresh_token)" != "$S2" ] || fail "truncated did not rotate"
expect "$(admin POST rules '{"any":true,"scenario":"rate_limit_retry_after","params":{"seconds":42}}')" 200 "rule"
code=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -u test-client:test-secret -d grant_type=refresh_token -d refresh_token=seed-x "$URL/token")
expect "$code" 429 "rate limit"
grep -qi '^Retry-After: 42' "$T/hdr" || fail "Retry-After: 42 missing"
expect "$(admin POST rules '{"any":true,"scenario":"close"}')" 200 "rule"
curl -s -o "$T/body" -u test-client:test-secret -d grant_type=refresh_token -d refresh_token=seed-x "$URL/token"
rc=$?
expect "$rc" 52 "close: curl 'empty reply'"
expect "$(admin POST rules '{"any":true,"scenario":"nonsense"}')" 400 "unknown scenario refused"
expect "$(admin DELETE rules '')" 200 "delete rules"

# 8. latency does not serialize: 20 concurrent requests with 500 ms each finish well under 2 s
expect "$(admin POST config '{"latency_ms":500}')" 200 "latency"
t0=$(ms)
i=0; CPIDS=""
while [ $i -lt 20 ]; do
	curl -s -o "$T/lat$i" -u test-client:test-secret -d grant_type=refresh_token -d "refresh_token=seed-lat$i" "$URL/token" &
	CPIDS="$CPIDS $!"
	i=$((i + 1))
done
for p in $CPIDS; do wait "$p"; done
t1=$(ms)
el=$((t1 - t0))
echo "20 requests with 500 ms latency: $el ms"
[ $el -ge 500 ] || fail "latency not applied ($el ms)"
[ $el -lt 1800 ] || fail "latency serialized: $el ms"
expect "$(grep -l access_token "$T"/lat* | wc -l | tr -d " ")" 20 "all 20 answered"
expect "$(admin POST config '{"latency_ms":0}')" 200 "latency off"

# 9. stats and the request log: one line per token request, no token values
expect "$(stat_of token_requests)" "$(wc -l <"$T/a/log" | tr -d ' ')" "log lines = token requests"
[ "$(stat_of successes)" -gt 20 ] || fail "successes $(stat_of successes)"
for v in "$R1" "$R2" "$A1" "$S1" test-secret; do
	grep -qF "$v" "$T/a/log" && fail "token or secret value in the request log"
done
curl -s "$AURL/admin/log" | jq -s 'length' >"$T/n"
expect "$(cat "$T/n")" "$(stat_of token_requests)" "GET /admin/log"
expect "$(curl -s "$AURL/admin/log" | jq -s '[.[] | select(.outcome=="reuse_detected")] | length')" 2 "reuse in the log"
expect "$(admin POST reset '')" 200 "reset"
expect "$(stat_of token_requests)" 0 "counters after reset"
kill "$IDP_PID"; wait "$IDP_PID"; rc=$?
expect "$rc" 0 "exit status on SIGTERM"

# 10. HTTPS with the test CA: handshakes counted, admin on a plain port, names verified
command -v openssl >/dev/null || { echo "no openssl: TLS part skipped"; exit 0; }
sh "$HERE/../idp/mkcerts.sh" "$T/certs" || fail "mkcerts.sh"
start_idp "$T/tls" --tls-cert "$T/certs/server.pem" --tls-key "$T/certs/server.key"
URL=https://127.0.0.1:$(cat "$T/tls/port")
[ "$AURL" != "http://127.0.0.1:$(cat "$T/tls/port")" ] || fail "TLS admin port is the TLS port"
expect "$(refresh seed-t --cacert "$T/certs/ca.pem")" 200 "refresh over HTTPS"
R=$(body .refresh_token)
code=$(curl -s --cacert "$T/certs/ca.pem" -u test-client:test-secret -d grant_type=client_credentials \
	-o /dev/null -o /dev/null -w '%{http_code}' "$URL/token" "$URL/token")
expect "$code" 200200 "two requests on one connection"
expect "$(stat_of tls_handshakes)" 2 "TLS handshakes (2 curl runs, the second with 2 requests)"
expect "$(stat_of token_requests)" 3 "token requests over TLS"
URL=https://localhost:$(cat "$T/tls/port")
expect "$(refresh seed-t2 --cacert "$T/certs/ca.pem")" 200 "https://localhost"
URL=https://127.0.0.1:$(cat "$T/tls/port")
code=$(refresh seed-t3)
expect "$code" 000 "HTTPS without the test CA"
kill "$IDP_PID"; wait "$IDP_PID"
start_idp "$T/wrong" --tls-cert "$T/certs/wrong-name.pem" --tls-key "$T/certs/wrong-name.key"
URL=https://127.0.0.1:$(cat "$T/wrong/port")
curl -s -o /dev/null --cacert "$T/certs/ca.pem" -d x=y "$URL/token"
rc=$?
expect "$rc" 60 "wrong-name certificate: curl peer verification error"
echo "ok"
