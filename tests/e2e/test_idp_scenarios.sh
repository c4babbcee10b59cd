#!/bin/sh
# Every scenario of doc/idp-scenarios.md that the test token server produces on demand, checked
# with curl: status, headers, body shape, and whether the refresh token was rotated. Also the
# extra endpoints (revoke, introspect, resource, metadata, device flow), token sizes, refresh
# expiry, and that the server survives hostile input and exits cleanly afterwards.
set -u
[ -n "${OT_IDP:-}" ] && [ -x "$OT_IDP" ] || { echo "OT_IDP not set"; exit 77; }
command -v curl >/dev/null && command -v jq >/dev/null || { echo "needs curl and jq"; exit 77; }
T=$(mktemp -d)
IDP_PID=""
cleanup() { [ -n "$IDP_PID" ] && kill "$IDP_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/body" ] && { echo "last body:"; head -c 400 "$T/body"; echo; }; exit 1; }
expect() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }
ms() { date +%s%3N; }

"$OT_IDP" --port 0 --port-file "$T/port" --quiet --public-client pub &
IDP_PID=$!
i=0
while [ ! -s "$T/port" ]; do sleep 0.05; i=$((i + 1)); [ $i -lt 200 ] || fail "idp did not start"; done
URL=http://127.0.0.1:$(cat "$T/port")

admin() { curl -s -o "$T/admin" -w '%{http_code}' -H 'Content-Type: application/json' -X "$1" --data "$3" "$URL/admin/$2"; }
fam() { curl -s "$URL/admin/family/$1" | jq -r ".$2"; }
# rule FAMILY SCENARIO [PARAMS]
rule() {
	p=${3:-}; [ -n "$p" ] || p='{}'
	expect "$(admin POST rules "{\"family\":\"$1\",\"scenario\":\"$2\",\"params\":$p}")" 200 "rule $2"
}
# refresh RT [curl args] -> status; body in $T/body, headers in $T/hdr
refresh() {
	rt=$1; shift
	curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -u test-client:test-secret -H 'Accept: application/json' \
		--data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$rt" "$@" "$URL/token"
}
body() { jq -r "$1" "$T/body"; }
hdr() { tr -d '\r' <"$T/hdr" | awk -v k="$1" 'tolower($0) ~ "^" tolower(k) ":" { sub(/^[^:]*: */, ""); print }'; }
n=0
# sc NAME STATUS [PARAMS]: fresh family, one rule, one refresh; sets RT0 (presented)
sc() {
	n=$((n + 1)); F="f$n"; RT0="seed-$F"
	rule "$F" "$1" "${3:-}"
	code=$(refresh "$RT0")
	expect "$code" "$2" "scenario $1 status"
}
rotated() { [ "$(fam "$F" current_refresh_token)" != "$RT0" ] || fail "$1: not rotated"; }
kept() { expect "$(fam "$F" current_refresh_token)" "$RT0" "$1: refresh token must stay current"; }

sc ok 200; rotated ok
sc ok_no_refresh_token 200; expect "$(body 'has("refresh_token")')" false "2 no RT"; kept 2
sc empty_refresh_token 200; expect "$(body .refresh_token)" "" "3 empty RT"; kept 3
sc null_refresh_token 200; expect "$(body '.refresh_token == null and has("refresh_token")')" true "3 null RT"; kept 3null
sc expires_in_string 200; expect "$(body '.expires_in | type')/$(body .expires_in)" string/3599 "4 string"
sc expires_in_bad 200; expect "$(body .expires_in)" abc "4 abc"
sc no_expires_in 200; expect "$(body 'has("expires_in")')" false "5 no expires_in"
for v in 0 -1 3599.9 1e12; do
	sc expires_in_value 200 "{\"value\":\"$v\"}"
	grep -q "\"expires_in\":$v[,}]" "$T/body" || fail "6 expires_in raw $v: $(cat "$T/body")"
done
sc bearer_lowercase 200; expect "$(body .token_type)" bearer "7"
sc refresh_expires_in 200; expect "$(body .refresh_expires_in)" 1800 "8 1800"
sc refresh_expires_in 200 '{"value":0}'; expect "$(body .refresh_expires_in)" 0 "8 zero"
sc github_expiry 200; expect "$(body .refresh_token_expires_in)/$(body .scope)/$(body .expires_in)" "15811200//28800" "9"
sc intuit_expiry 200; expect "$(body .x_refresh_token_expires_in)/$(body '.expires_in|type')" "8726400/string" "10"; rotated 10
sc extra_members 200; expect "$(body '.ext_expires_in')/$(body '.error_codes|length')" "3600/0" "11"
sc html_200 200; case "$(hdr Content-Type)" in text/html*) ;; *) fail "12 content type";; esac; kept 12
sc github_bad_refresh_token 200; expect "$(body .error)" bad_refresh_token "13"; kept 13
sc vendor_status 400; expect "$(body .status)" BAD_REFRESH_TOKEN "vendor status"
sc truncated 200; expect "$(cat "$T/body")" '{"access_token":"A2","refr' "14 body"; rotated 14
sc invalid_grant 400; expect "$(body .error_description)" "Token has been expired or revoked." "15"; kept 15
sc invalid_grant_403 403; expect "$(body .error)" invalid_grant "16"
sc zoom_invalid_grant 400; expect "$(body .reason)/$(body .error)" "Invalid Token!/invalid_grant" "17"
sc entra_invalid_grant 400; expect "$(body '.error_codes[0]')" 70008 "entra"
sc invalid_client 401; expect "$(body .error)" invalid_client "18"
case "$(hdr WWW-Authenticate)" in Basic*) ;; *) fail "18 WWW-Authenticate";; esac
sc unauthorized_client 401; expect "$(body .error)" unauthorized_client "keycloak 401"
sc servicenow_401 401; expect "$(body .error)/$(body .error_description)" "server_error/access_denied" "19"
sc invalid_scope 400; expect "$(body .error)" invalid_scope "20"
t0=$(ms); sc rotate_then_stall 200 '{"ms":300}'; t1=$(ms)
[ $((t1 - t0)) -ge 290 ] || fail "22 answered after $((t1 - t0)) ms"; rotated 22
sc rate_limit_retry_after 429; expect "$(hdr Retry-After)" 60 "23"
sc rate_limit_retry_after 429 '{"http_date":true,"seconds":5}'; case "$(hdr Retry-After)" in *GMT) ;; *) fail "23 http date";; esac
now=$(date +%s); sc rate_limit_reset 429; r=$(hdr X-Rate-Limit-Reset)
[ "$r" -ge $((now + 59)) ] && [ "$r" -le $((now + 62)) ] || fail "24 reset $r, now $now"
[ -z "$(hdr Retry-After)" ] || fail "24 must not send Retry-After"
sc unavailable 503; expect "$(body .error)/$(hdr Retry-After)" "temporarily_unavailable/30" "25"
sc temporarily_unavailable_400 400; expect "$(body .error)" temporarily_unavailable "tu 400"
sc server_error 500; kept 26
sc bad_gateway_empty 502; expect "$(wc -c <"$T/body" | tr -d ' ')" 0 "502 empty"
sc gateway_timeout_empty 504; expect "$(wc -c <"$T/body" | tr -d ' ')" 0 "504 empty"
sc close 000
t0=$(ms); sc stall 000 '{"ms":300}'; t1=$(ms); [ $((t1 - t0)) -ge 290 ] || fail "stall too short"
n=$((n + 1)); rule "f$n" stall; t0=$(ms)
curl -s -o /dev/null -m 1 -u test-client:test-secret -d grant_type=refresh_token -d "refresh_token=seed-f$n" "$URL/token"
expect "$?" 28 "stall: client timeout"
sc redirect 302; expect "$(hdr Location)" /login "27"; kept 27
sc form_encoded 200; case "$(cat "$T/body")" in access_token=*token_type=bearer*) ;; *) fail "28 form body";; esac
case "$(hdr Content-Type)" in application/x-www-form-urlencoded*) ;; *) fail "28 type";; esac
t0=$(ms); sc slow_loris 200 '{"ms_per_byte":3}'; t1=$(ms)
len=$(wc -c <"$T/body"); [ $((t1 - t0)) -ge $((len * 3 - 20)) ] || fail "slow_loris too fast: $len bytes in $((t1 - t0)) ms"
expect "$(body .token_type)" Bearer "slow loris body is valid"
sc huge_body 200 '{"bytes":3000000}'; expect "$(wc -c <"$T/body" | tr -d ' ')" 3000000 "huge size"
expect "$(body .access_token)" A2 "huge body is valid JSON"
n=$((n + 1)); rule "f$n" endless_body
curl -s -o "$T/body" -m 1 -u test-client:test-secret -d grant_type=refresh_token -d "refresh_token=seed-f$n" "$URL/token"
expect "$?" 28 "endless body: client timeout"
[ "$(wc -c <"$T/body")" -gt 1048576 ] || fail "endless body too short"
sc deep_json 200 '{"depth":50}'; expect "$(body '.x|tostring|length')" 100 "deep json"
sc nul_bytes 200; od -c "$T/body" | grep -q '\\0' || fail "no NUL byte"
sc nul_bytes 200 '{"escaped":true}'; grep -q 'u0000' "$T/body" || fail "no escaped NUL"
sc invalid_utf8 200; od -An -tx1 "$T/body" | grep -q 'ff fe' || fail "no invalid UTF-8"
t0=$(ms); sc latency 200 '{"ms":200}'; t1=$(ms); [ $((t1 - t0)) -ge 190 ] || fail "latency"
sc error 418 '{"status":418,"error":"x_teapot","description":"short and stout","retry_after":7}'
expect "$(body .error)/$(hdr Retry-After)" "x_teapot/7" "generic error"
sc raw 207 '{"status":207,"body":"hi","content_type":"text/plain","headers":{"X-A":"b"}}'
expect "$(cat "$T/body")/$(hdr X-A)" "hi/b" "raw"

# params: rotate on an error scenario (a real lost answer), revoke, client_id match, times 0
sc server_error 500 '{"rotate":true}'; rotated "error with rotate"
expect "$(fam "$F" 'spent|length')" 1 "rotate: the seed was spent"
sc ok_no_refresh_token 200 '{"rotate":true}'; rotated "keep with rotate"
sc invalid_grant 400 '{"revoke":true}'; expect "$(fam "$F" revoked)" true "revoke param"
expect "$(refresh "$RT0")" 400 "revoked family stays dead"
expect "$(admin POST rules '{"client_id":"pub","scenario":"invalid_scope","times":0}')" 200 "client rule"
for k in 1 2; do
	code=$(curl -s -o "$T/body" -w '%{http_code}' -d grant_type=refresh_token -d refresh_token=seed-pub$k -d client_id=pub "$URL/token")
	expect "$code/$(body .error)" 400/invalid_scope "client_id rule, times 0, round $k"
done
expect "$(refresh seed-other)" 200 "client_id rule does not hit other clients"
expect "$(curl -s "$URL/admin/rules" | jq length)" 1 "a times-0 rule stays"
expect "$(admin DELETE rules/$(curl -s "$URL/admin/rules" | jq '.[0].id') '')" 200 "delete one rule"
expect "$(curl -s "$URL/admin/rules" | jq length)" 0 "rules after delete"

# GitHub: without Accept: application/json the answer is form-encoded
expect "$(admin POST config '{"require_accept_json":true}')" 200 "accept config"
code=$(curl -s -o "$T/body" -w '%{http_code}' -u test-client:test-secret -d grant_type=refresh_token -d refresh_token=seed-gh "$URL/token")
case "$(cat "$T/body")" in access_token=*) ;; *) fail "no Accept: json -> form";; esac
expect "$(refresh "$(fam gh current_refresh_token)")/$(body .token_type)" 200/Bearer "Accept: json -> JSON"
expect "$(admin POST config '{"require_accept_json":false}')" 200 "accept config off"

# token sizes and refresh-token expiry
expect "$(admin POST config '{"token_bytes":1500,"refresh_expires_in":1}')" 200 "config"
expect "$(refresh seed-big)" 200 "big tokens"
expect "$(body '.access_token|length')/$(body '.refresh_token|length')/$(body .refresh_expires_in)" 1500/1500/1 "token sizes"
sleep 1.1
expect "$(refresh "$(body .refresh_token)")/$(body .error_description)" "400/Token is not active" "expired RT"
expect "$(admin POST config '{"token_bytes":0,"refresh_expires_in":0}')" 200 "config back"
expect "$(admin POST config '{"rotation":"sideways"}')" 400 "bad config refused"

# admin seed, introspection, the protected resource, revocation (+ its scenario)
expect "$(admin POST seed '{"family":"sd","refresh_token":"my-rt","access_token":"my-at"}')" 200 "seed"
expect "$(curl -s -d token=my-rt "$URL/introspect" | jq -r .active)" true "introspect RT"
expect "$(curl -s -H 'Authorization: Bearer my-at' "$URL/resource" | jq -r .family)" sd "resource"
expect "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "$URL/resource")" 401 "resource bad token"
expect "$(refresh my-rt)" 200 "refresh seeded token"
expect "$(curl -s -d token=my-rt "$URL/introspect" | jq -r .active)" false "introspect rotated RT"
expect "$(admin POST rules '{"any":true,"scenario":"revoke_unavailable"}')" 200 "revoke rule"
code=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -u test-client:test-secret -d "token=$(fam sd current_refresh_token)" "$URL/revoke")
expect "$code/$(hdr Retry-After)" 503/30 "revocation 503"
expect "$(fam sd revoked)" false "503 revocation keeps the grant"
code=$(curl -s -o "$T/body" -w '%{http_code}' -u test-client:test-secret -d "token=$(fam sd current_refresh_token)" "$URL/revoke")
expect "$code/$(wc -c <"$T/body" | tr -d ' ')" 200/0 "revocation"
expect "$(fam sd revoked)" true "revoked"
code=$(curl -s -o /dev/null -w '%{http_code}' -u test-client:test-secret -d token=unknown "$URL/revoke")
expect "$code" 200 "revoking an unknown token"
expect "$(curl -s "$URL/.well-known/oauth-authorization-server" | jq -r .token_endpoint)" "$URL/token" "metadata"

# device flow: pending, slow_down (interval +5), ok; then the code is used up
expect "$(admin POST device '{"script":["authorization_pending","slow_down","ok"],"interval":1}')" 200 "device script"
curl -s -u test-client:test-secret -d scope=x "$URL/device_authorization" >"$T/dev"
DC=$(jq -r .device_code "$T/dev"); expect "$(jq -r .interval "$T/dev")" 1 "device interval"
poll() { curl -s -o "$T/body" -w '%{http_code}' -u test-client:test-secret -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d "device_code=$DC" "$URL/token"; }
expect "$(poll)/$(body .error)" 400/authorization_pending "poll 1"
expect "$(poll)/$(body .error)/$(body .interval)" 400/slow_down/6 "poll 2"
expect "$(poll)" 200 "poll 3"; DRT=$(body .refresh_token)
expect "$(poll)/$(body .error)" 400/invalid_grant "poll after success"
expect "$(curl -s "$URL/admin/device" | jq '.polls|length')" 4 "polls recorded"
expect "$(refresh "$DRT")" 200 "device family refreshes"

# hostile input: junk requests do not hurt the server
curl -s -o /dev/null -X BREW "$URL/token"
curl -s -o /dev/null -H 'Content-Type: application/x-www-form-urlencoded' --data-binary 'a=%00&b' "$URL/token"
curl -s -o /dev/null -H "Authorization: Basic !!!" -d grant_type=refresh_token "$URL/token"
curl -s -o /dev/null -H "Authorization: Basic $(printf 'no-colon' | base64)" -d grant_type=refresh_token "$URL/token"
curl -s -o /dev/null -H 'Content-Type: application/json' --data '[' "$URL/admin/rules"
curl -s -o /dev/null "$URL/admin/family/%00"
curl -s -o /dev/null --path-as-is "$URL/../../etc/passwd"
# raw bytes through curl's telnet:// (no nc needed)
PORT=$(cat "$T/port")
printf 'GARBAGE \001\002\003\r\n\r\n' | curl -s -m 1 "telnet://127.0.0.1:$PORT" >/dev/null 2>&1
printf 'POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\nab' |
	curl -s -m 1 "telnet://127.0.0.1:$PORT" >/dev/null 2>&1
printf 'POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' |
	curl -s -m 1 "telnet://127.0.0.1:$PORT" >/dev/null 2>&1
expect "$(refresh seed-after-junk)" 200 "server alive after junk"

kill "$IDP_PID"; wait "$IDP_PID"; rc=$?; IDP_PID=""
expect "$rc" 0 "exit status on SIGTERM"
echo "ok: $n scenario runs"
