#!/bin/sh
# refresh against token servers whose answers are odd at the HTTP level or in ways the other
# tests do not produce, played byte for byte by tests/e2e/odd_httpd.c (built here).
#  s_*: answers that are fine after all: a 201; 200 interim 100s first; chunked with odd
#       chunk sizes, an extension and a trailer; HTTP/1.0 without a length; 100 Continue /
#       103 Early Hints (with a Retry-After of its own) first; bare LF line ends; a BOM; JSON sent as text/html (by the body, not the type); duplicate keys
#       (the first wins); token_type MAC or missing; expires_in 1e300 (clamped) or null
#       (unknown); an IPv6 loopback token URL.  -> refreshed, exit 0, the new tokens stored.
#  f_*: answers that are failures: gzip nobody asked for, 204, 301/303/307/308 (never
#       followed: the target never sees a request), a close right after the headers or
#       inside a chunk or 5 MB short of its Content-Length, a 200 KB header, 350 KB of
#       headers, a JSON array or a JSON string holding the object, trailing data,
#       a numeric access_token, no status line (HTTP/0.9), a broken status line, a 101, a
#       100 and then nothing, status 999, Retry-After in the past / garbage / huge / as a
#       future HTTP-date / only on a 103.  -> failed, exit 1, state failing, one clear line,
#       every stored token kept, retry times as the table says.
#  p_*: error answers echoing our client secret / refresh token as we sent them (Basic
#       header, form-encoded): reauth as the table says, and no secret in any form anywhere.
#  x_dup_cl: two Content-Length headers that disagree: libcurl's choice, but a whole answer or
#       tokens kept.
# Everywhere: no crash (no sanitizer report), no token or secret in any output or the store's
# reasons. Found by this test and fixed: the reasons for f_http09 / f_badstatus (were
# "unsupported protocol (only http and https)"), f_bighdr (was "Out of memory"), and the
# echoed credentials of p_* (only raw values were cut; now every secret the request sent,
# in every form, through ot_http_result's redact in ot_token_classify).
. "$(dirname "$0")/lib.sh"

CC=${CC:-cc}
command -v "${CC%% *}" >/dev/null 2>&1 || ot_skip "no C compiler ($CC) to build odd_httpd"
command -v gzip >/dev/null 2>&1 || ot_skip "gzip not installed"
$CC -std=c11 -O1 -o "$T/odd_httpd" "$OT_E2E_DIR/odd_httpd.c" 2>"$T/cc.err" ||
	{ cat "$T/cc.err" >&2; fail "cannot build odd_httpd"; }
export LC_ALL=C

D="$T/www"
mkdir -p "$D"
"$T/odd_httpd" --dir "$D" --port-file "$T/odd.port" 2>"$T/odd.err" &
OT_PIDS="$OT_PIDS $!"
wait_file "$T/odd.port" || { cat "$T/odd.err" >&2; fail "odd_httpd did not start"; }
PORT=$(cat "$T/odd.port")
BASE="http://127.0.0.1:$PORT"
V6PORT=""
"$T/odd_httpd" --dir "$D" --port-file "$T/odd6.port" --bind ::1 2>"$T/odd6.err" &
OT_PIDS="$OT_PIDS $!"
if wait_file "$T/odd6.port" 30; then
	V6PORT=$(cat "$T/odd6.port")
else
	echo "note: no IPv6 loopback here: s_v6 not checked"
fi

# The answer's tokens: SRVTOK-* never appear in any output or reason.
okjson() { printf '{"access_token":"SRVTOK-A-%s","token_type":"Bearer","expires_in":3600,"refresh_token":"SRVTOK-R-%s"}' "$1" "$1"; }
# play NAME: stdin is the whole answer, sent at once.
play() { cat >"$D/$1.resp"; echo "send $1.resp" >"$D/$1.script"; }
# head200 LEN [EXTRA_HEADER_LINES]: a 200 status and headers with a Content-Length.
head200() { printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %s\r\n%bConnection: close\r\n\r\n' "$1" "${2:-}"; }
# json200 NAME BODY [EXTRA]: a 200 with BODY.
json200() { { head200 "$(printf '%s' "$2" | wc -c)" "${3:-}"; printf '%s' "$2"; } | play "$1"; }
# status NAME "CODE TEXT" BODY [EXTRA]
status() { { printf 'HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\n%bConnection: close\r\n\r\n' "$2" "$(printf '%s' "$3" | wc -c)" "${4:-}"; printf '%s' "$3"; } | play "$1"; }

# ---- answers that are fine ----
b=$(okjson s_chunked)
# 1 byte, 7 bytes (with an extension), 0x1A bytes in upper-case hex, the rest; a trailer.
{
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
	printf '1\r\n%s\r\n' "$(printf '%s' "$b" | cut -c1)"
	printf '7;name="x y"\r\n%s\r\n' "$(printf '%s' "$b" | cut -c2-8)"
	printf '1A\r\n%s\r\n' "$(printf '%s' "$b" | cut -c9-34)"
	rest=$(printf '%s' "$b" | cut -c35-)
	printf '%x\r\n%s\r\n' "$(printf '%s' "$rest" | wc -c)" "$rest"
	printf '0\r\nX-Trailer: done\r\n\r\n'
} | play s_chunked
{ printf 'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n'; okjson s_http10; } | play s_http10
b=$(okjson s_100)
{ printf 'HTTP/1.1 100 Continue\r\n\r\n'; head200 ${#b}; printf '%s' "$b"; } | play s_100
b=$(okjson s_103)
{ printf 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nRetry-After: 7200\r\n\r\n'; head200 ${#b}; printf '%s' "$b"; } | play s_103
b=$(okjson s_lf)
{ printf 'HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: %s\nConnection: close\n\n' ${#b}; printf '%s' "$b"; } | play s_lf
b=$(okjson s_bom)
{ printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nConnection: close\r\n\r\n\357\273\277' $((${#b} + 3)); printf '%s' "$b"; } | play s_bom
b=$(okjson s_html_ct)
{ printf 'HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' ${#b}; printf '%s' "$b"; } | play s_html_ct
json200 s_dupkeys '{"access_token":"SRVTOK-A-s_dupkeys","token_type":"Bearer","access_token":"SRVTOK-A-second","expires_in":3600,"refresh_token":"SRVTOK-R-s_dupkeys","refresh_token":"SRVTOK-R-second","expires_in":60}'
json200 s_mac '{"access_token":"SRVTOK-A-s_mac","token_type":"MAC","mac_key":"k","mac_algorithm":"hmac-sha-256","expires_in":3600,"refresh_token":"SRVTOK-R-s_mac"}'
json200 s_notype '{"access_token":"SRVTOK-A-s_notype","expires_in":3600,"refresh_token":"SRVTOK-R-s_notype"}'
json200 s_exp_huge '{"access_token":"SRVTOK-A-s_exp_huge","token_type":"Bearer","expires_in":1e300,"refresh_token":"SRVTOK-R-s_exp_huge"}'
json200 s_exp_null '{"access_token":"SRVTOK-A-s_exp_null","token_type":"Bearer","expires_in":null,"refresh_token":"SRVTOK-R-s_exp_null"}'
json200 s_v6 "$(okjson s_v6)"
b=$(okjson s_201)
{ printf 'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' ${#b} "$b"; } | play s_201
b=$(okjson s_many100)
{ awk 'BEGIN { for (i = 0; i < 200; i++) printf "HTTP/1.1 100 Continue\r\nX-Wait: %d\r\n\r\n", i }'; head200 ${#b}; printf '%s' "$b"; } | play s_many100
# the redirects' target: it must never be asked
json200 s_target "$(okjson s_target)"

# ---- answers that are failures ----
b=$(okjson f_gzip)
printf '%s' "$b" | gzip -9c >"$T/gz"
{ printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' "$(wc -c <"$T/gz")"; cat "$T/gz"; } | play f_gzip
printf 'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n' | play f_204
for c in 301 303 307 308; do
	{ printf 'HTTP/1.1 %s Moved\r\nLocation: %s/s_target\r\n' $c "$BASE"; printf 'Content-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' ${#b}; printf '%s' "$b"; } | play f_$c
done
# the headers promise 300 bytes, then the connection closes
head200 300 | play f_close_hdr
{ printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'; printf '40\r\n{"access_token":"SRVTOK-A-f_close_chunk",'; } | play f_close_chunk
{ printf 'HTTP/1.1 200 OK\r\nX-Big: '; head -c 204800 /dev/zero | tr '\0' a; printf '\r\n'; b=$(okjson f_bighdr); printf 'Content-Length: %s\r\nConnection: close\r\n\r\n%s' ${#b} "$b"; } | play f_bighdr
{ printf 'HTTP/1.1 200 OK\r\n'; awk 'BEGIN { for (i = 0; i < 3500; i++) printf "X-H%04d: %090d\r\n", i, 0 }'; b=$(okjson f_manyhdr); printf 'Content-Length: %s\r\nConnection: close\r\n\r\n%s' ${#b} "$b"; } | play f_manyhdr
json200 f_array "[$(okjson f_array)]"
json200 f_trailing "$(okjson f_trailing)<!-- served by edge-7 -->"
json200 f_at_num '{"access_token":12345,"token_type":"Bearer","expires_in":3600,"refresh_token":"SRVTOK-R-f_at_num"}'
okjson f_http09 | play f_http09
b=$(okjson f_dup_cl)
{ printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' ${#b} "$b"; } | play f_dup_cl
b=$(okjson f_cl_huge)
{ printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\n%s' "$b"; } | play f_cl_huge
json200 f_json_string "$(okjson f_json_string | sed 's/"/\\"/g; s/^/"/; s/$/"/')"
b=$(okjson f_badstatus)
{ printf 'HTTP/1.1 2OO OK\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' ${#b} "$b"; } | play f_badstatus
printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n' | play f_101
printf 'HTTP/1.1 100 Continue\r\n\r\n' | play f_100only
status f_999 '999 Whatever' "$(okjson f_999)"
status f_ra_past '503 Service Unavailable' '{"error":"temporarily_unavailable"}' 'Retry-After: Sun, 06 Nov 1994 08:49:37 GMT\r\n'
status f_ra_garbage '429 Too Many Requests' '' 'Retry-After: soon-ish\r\n'
status f_ra_huge '503 Service Unavailable' '' 'Retry-After: 99999999999999999999\r\n'
ra_date=$(date -u -d "@$(( $(date +%s) + 300 ))" '+%a, %d %b %Y %H:%M:%S GMT')
status f_ra_date '429 Too Many Requests' '' "Retry-After: $ra_date\\r\\n"
{ printf 'HTTP/1.1 103 Early Hints\r\nRetry-After: 7200\r\n\r\n'; printf 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'; } | play f_ra_103

S_NAMES="s_201 s_many100 s_chunked s_http10 s_100 s_103 s_lf s_bom s_html_ct s_dupkeys s_mac s_notype s_exp_huge s_exp_null"
[ -n "$V6PORT" ] && S_NAMES="$S_NAMES s_v6"
F_NAMES="f_cl_huge f_json_string f_gzip f_204 f_301 f_303 f_307 f_308 f_close_hdr f_close_chunk f_bighdr f_manyhdr f_array f_trailing f_at_num f_http09 f_badstatus f_101 f_100only f_999 f_ra_past f_ra_garbage f_ra_huge f_ra_date f_ra_103"

# One provider per case (its own path); client secret in a 0600 file.
umask 077
printf 'odd-client-secret' >"$T/secret"
provs="" accts=""
for a in $S_NAMES $F_NAMES; do
	url="$BASE/$a"
	[ "$a" = s_v6 ] && url="http://[::1]:$V6PORT/$a"
	provs="$provs${provs:+,
}    \"$a\": { \"token_url\": \"$url\", \"client_id\": \"odd-client\", \"client_secret_file\": \"$T/secret\" }"
	accts="$accts${accts:+, }{ \"name\": \"$a\", \"provider\": \"$a\" }"
done
cat >"$T/cfg.json" <<JSON
{ "store": "$STORE", "min_interval": 0, "timeouts": { "connect": 2, "total": 3 },
  "backoff": { "base": 1, "max": 2 }, "concurrency": 40,
  "providers": {
$provs },
  "accounts": [ $accts ] }
JSON
for a in $S_NAMES $F_NAMES; do import_seed "$a"; done

no_sanitizer_report() {
	! grep -q 'AddressSanitizer\|runtime error:\|LeakSanitizer' "$T/err" ||
		{ cat "$T/err" >&2; fail "sanitizer report in $1"; }
}
# reqs NAME: requests the server saw for NAME.
reqs() { [ -f "$D/$1.log" ] && wc -l <"$D/$1.log" | tr -d ' ' || echo 0; }

# ---- 1. the fine ones: all refreshed, exit 0 ----
t0=$(date +%s)
expect_rc 0 ot refresh $S_NAMES
no_sanitizer_report "the s_* run"
cp "$T/out" "$T/out.s"; cp "$T/err" "$T/err.s"
n=$(echo $S_NAMES | wc -w)
grep -q "^refresh: $n refreshed, 0 failed, 0 needs reauthorization, 0 skipped\$" "$T/out" ||
	fail "s_* summary: $(cat "$T/out")"
for a in $S_NAMES; do
	grep -q "^$a: refreshed" "$T/out" || fail "$a: $(grep "^$a:" "$T/out")"
	[ "$(reqs $a)" = 1 ] || fail "$a: the server saw $(reqs $a) requests, want 1"
	want_at=SRVTOK-A-$a want_rt=SRVTOK-R-$a
	[ "$(db_col $a access_token)" = "$want_at" ] || fail "$a: access token $(db_col $a access_token | cut -c1-20)..., want $want_at"
	[ "$(db_rt $a)" = "$want_rt" ] || fail "$a: refresh token not the new one"
	[ "$(db_col $a failures)" = 0 ] || fail "$a: failures $(db_col $a failures)"
done
# the request itself was a refresh_token grant with the seed, basic auth, Accept JSON
grep -q '^POST /s_http10 HTTP/1.1' "$D/s_http10.req" || fail "request line: $(head -1 "$D/s_http10.req")"
grep -q 'grant_type=refresh_token&refresh_token=seed-s_http10' "$D/s_http10.req" || fail "request body"
grep -qi '^Accept: application/json' "$D/s_http10.req" || fail "no Accept: application/json"
# lifetimes: send time + expires_in; 1e300 clamped to 10 years; null is unknown (0)
life() { sqlite3 "$STORE" "SELECT access_expires_at - last_attempt_at FROM credentials WHERE account='$1'"; }
[ "$(life s_chunked)" = 3600 ] || fail "s_chunked lifetime $(life s_chunked)"
[ "$(life s_dupkeys)" = 3600 ] || fail "s_dupkeys: lifetime $(life s_dupkeys): the first expires_in must win"
[ "$(life s_exp_huge)" = 315360000 ] || fail "s_exp_huge lifetime $(life s_exp_huge)"
[ "$(db_col s_exp_null access_expires_at)" = 0 ] || fail "s_exp_null: expiry should be unknown"
[ "$(db_col s_mac token_type)" = MAC ] || fail "s_mac token_type $(db_col s_mac token_type)"
[ "$(db_col s_notype token_type)" = Bearer ] || fail "s_notype token_type $(db_col s_notype token_type)"
# 103's Retry-After belongs to the interim answer: nothing scheduled
[ "$(db_col s_103 next_attempt_at)" = 0 ] || fail "s_103: a retry was scheduled after a success"
status_json
for a in $S_NAMES; do
	want=ok; [ "$a" = s_exp_null ] && want=due
	[ "$(st_state $a)" = "$want" ] || fail "$a is $(st_state $a), want $want"
done
t1=$(date +%s)
[ $((t1 - t0)) -le 5 ] || fail "the s_* run took $((t1 - t0)) s"

# ---- 2. the failures: all failed, exit 1, every token kept ----
now=$(date +%s)
expect_rc 1 ot refresh $F_NAMES
no_sanitizer_report "the f_* run"
t1=$(date +%s)
[ $((t1 - now)) -le 6 ] || fail "the f_* run took $((t1 - now)) s (total timeout 3 s)"
n=$(echo $F_NAMES | wc -w)
grep -q "^refresh: 0 refreshed, $n failed, 0 needs reauthorization, 0 skipped\$" "$T/out" ||
	fail "f_* summary: $(cat "$T/out")"
# reason_of NAME: what the one line must say (a grep pattern)
reason_of() {
	case $1 in
	f_gzip) echo "malformed answer: " ;;
	f_204) echo "malformed answer: empty body" ;;
	f_30?) echo "HTTP ${1#f_} redirect not followed" ;;
	f_close_hdr) echo "closed.*300 bytes remaining\|connection closed" ;;
	f_close_chunk) echo "closed\|chunk" ;;
	f_bighdr | f_manyhdr) echo "header" ;;
	f_array) echo "malformed answer: JSON but not an object" ;;
	f_trailing) echo "malformed answer: trailing data after the JSON object" ;;
	f_at_num) echo "malformed answer: access_token is not a string" ;;
	f_http09 | f_badstatus) echo "HTTP/0.9\|status line\|HTTP answer\|response code" ;;
	f_101) echo "101\|[Uu]pgrade\|empty reply" ;;
	f_100only) echo "100\|empty reply\|no HTTP status\|nothing\|closed" ;;
	f_999) echo "HTTP 999" ;;
	f_cl_huge) echo "closed.*remaining" ;;
	f_json_string) echo "malformed answer: JSON but not an object" ;;
	f_ra_past | f_ra_huge) echo "HTTP 503" ;;
	f_ra_garbage | f_ra_date) echo "HTTP 429" ;;
	f_ra_103) echo "HTTP 503" ;;
	esac
}
status_json
for a in $F_NAMES; do
	[ "$(grep -c "^$a: " "$T/out")" = 1 ] || fail "$a: want exactly one line: $(grep "^$a: " "$T/out")"
	r=$(reason_of $a)
	grep -q "^$a: failed: .*\($r\).*, retry in " "$T/out" ||
		fail "$a: want /$r/: $(grep "^$a:" "$T/out")"
	[ "$(db_rt $a)" = "seed-$a" ] || fail "$a: refresh token not kept"
	[ "$(db_col $a access_token)" = "A1-$a" ] || fail "$a: access token not kept"
	[ "$(db_col $a failures)" = 1 ] || fail "$a: failures $(db_col $a failures)"
	case $(ev_last $a) in failed\|*) ;; *) fail "$a: last event $(ev_last $a)" ;; esac
	[ "$(st_state $a)" = failing ] || fail "$a is $(st_state $a), want failing"
	[ "$(reqs $a)" = 1 ] || fail "$a: the server saw $(reqs $a) requests, want 1"
done
# redirects: never followed
[ "$(reqs s_target)" = 0 ] || fail "a redirect was followed: s_target saw $(reqs s_target) requests"
# retry times: a Retry-After in the past or garbage is no wait (backoff 1-2 s, or the
# short retry of a lost answer); a huge one is capped at a day; an HTTP-date is honoured;
# one on a 103 is not the final answer's.
next() { echo $(( $(db_col $1 next_attempt_at) - now )); }
for a in f_ra_past f_ra_garbage f_ra_103; do
	n=$(next $a); [ "$n" -ge 0 ] && [ "$n" -le 4 ] || fail "$a: retry in $n s, want the backoff (1-2 s)"
done
n=$(next f_ra_huge); [ "$n" -ge 86390 ] && [ "$n" -le 86410 ] || fail "f_ra_huge: retry in $n s, want 86400 (capped)"
n=$(next f_ra_date); [ "$n" -ge 290 ] && [ "$n" -le 310 ] || fail "f_ra_date: retry in $n s, want 300"

# ---- 3. conflicting Content-Length headers (10, then the real length): libcurl decides
# (7.88 takes the last one); either a whole answer (the full new tokens) or a failure with
# every token kept, never a partial token.
b=$(okjson x_dup_cl)
{ printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' ${#b} "$b"; } | play x_dup_cl
sed -i "s|\"accounts\": \[|\"accounts\": [ { \"name\": \"x_dup_cl\", \"provider\": \"x_dup_cl\" },|; s|\"providers\": {|\"providers\": { \"x_dup_cl\": { \"token_url\": \"$BASE/x_dup_cl\", \"client_id\": \"odd-client\", \"client_secret_file\": \"$T/secret\" },|" "$T/cfg.json"
import_seed x_dup_cl
"$OAUTHTOP" --config "$T/cfg.json" refresh x_dup_cl >"$T/out.x" 2>"$T/err.x"
rc=$?
grep -q 'AddressSanitizer\|runtime error:' "$T/err.x" && { cat "$T/err.x" >&2; fail "sanitizer report (x_dup_cl)"; }
case $rc in
0) [ "$(db_col x_dup_cl access_token)" = SRVTOK-A-x_dup_cl ] && [ "$(db_rt x_dup_cl)" = SRVTOK-R-x_dup_cl ] ||
	fail "x_dup_cl: refreshed with other tokens than the answer's" ;;
1) [ "$(db_col x_dup_cl access_token)" = A1-x_dup_cl ] && [ "$(db_rt x_dup_cl)" = seed-x_dup_cl ] ||
	fail "x_dup_cl: failed but the tokens were not kept" ;;
*) cat "$T/out.x" "$T/err.x" >&2; fail "x_dup_cl: refresh exited $rc" ;;
esac
echo "note: conflicting Content-Length: $(grep '^x_dup_cl:' "$T/out.x")"

# ---- 4. error answers that echo our credentials in the very form we sent them: the Basic
# header (base64 of the form-encoded id:secret, under 40 characters here: longer runs are
# redacted as token-like anyway), the form-encoded client_secret of
# client_secret_post, the form-encoded refresh token. Outcomes as the table says (client
# rejected / reauth, exit 2, tokens kept) and no secret in any form in any output or reason.
SECRET2='Zx9/w+rd=p@ss'
penc() { printf '%s' "$1" | sed 's/%/%25/g; s|/|%2F|g; s/+/%2B/g; s/=/%3D/g; s/@/%40/g'; }
printf '%s' "$SECRET2" >"$T/secret2"
B64=$(printf 'app:%s' "$(penc "$SECRET2")" | base64 | tr -d '\n')
err400() { status "$1" "${3:-400 Bad Request}" "$2"; }
err400 p_basic "{\"error\":\"invalid_client\",\"error_description\":\"bad header Authorization: Basic $B64\"}" '401 Unauthorized'
err400 p_post "{\"error\":\"invalid_request\",\"error_description\":\"bad body: client_secret=$(penc "$SECRET2")&x=1\"}"
RT2='rt/ab+cd=='
err400 p_rt "{\"error\":\"invalid_grant\",\"error_description\":\"unknown refresh_token=$(penc "$RT2")\"}"
cat >"$T/cfg2.json" <<JSON
{ "store": "$STORE", "min_interval": 0, "timeouts": { "connect": 2, "total": 3 },
  "providers": {
    "p_basic": { "token_url": "$BASE/p_basic", "client_id": "app", "client_secret_file": "$T/secret2" },
    "p_post": { "token_url": "$BASE/p_post", "client_id": "odd-client", "client_secret_file": "$T/secret2",
                "auth_method": "client_secret_post" },
    "p_rt": { "token_url": "$BASE/p_rt", "client_id": "odd-client", "client_secret_file": "$T/secret2" } },
  "accounts": [ { "name": "p_basic", "provider": "p_basic" }, { "name": "p_post", "provider": "p_post" },
                { "name": "p_rt", "provider": "p_rt" } ] }
JSON
ot2() { "$OAUTHTOP" --config "$T/cfg2.json" "$@"; }
for a in p_basic p_post p_rt; do
	rt=seed-$a; [ $a = p_rt ] && rt=$RT2
	printf '{"access_token":"A1-%s","token_type":"Bearer","expires_in":60,"refresh_token":"%s"}' $a "$rt" |
		ot2 import $a - >/dev/null 2>"$T/import.err" || { cat "$T/import.err" >&2; fail "import $a"; }
done
expect_rc 2 ot2 refresh p_basic p_post p_rt
no_sanitizer_report "the p_* run"
# what was sent is what the server echoes
grep -q "^Authorization: Basic $B64" "$D/p_basic.req" || fail "p_basic: the Basic header sent is not $B64"
grep -q "client_secret=$(penc "$SECRET2")" "$D/p_post.req" || fail "p_post: the form sent differs"
grep -q "refresh_token=$(penc "$RT2")" "$D/p_rt.req" || fail "p_rt: the form sent differs"
grep -q '^p_basic: needs reauthorization: client rejected: invalid_client' "$T/out" || fail "p_basic: $(grep '^p_basic' "$T/out")"
grep -q '^p_post: needs reauthorization: invalid_request' "$T/out" || fail "p_post: $(grep '^p_post' "$T/out")"
grep -q '^p_rt: needs reauthorization: invalid_grant' "$T/out" || fail "p_rt: $(grep '^p_rt' "$T/out")"
[ "$(db_rt p_rt)" = "$RT2" ] && [ "$(db_rt p_post)" = seed-p_post ] && [ "$(db_rt p_basic)" = seed-p_basic ] ||
	fail "p_*: refresh tokens not kept"
ot2 status --format json >"$T/status2.json" 2>/dev/null
ot2 history p_post >"$T/hist2" 2>&1
sqlite3 "$STORE" "SELECT reason FROM events WHERE account LIKE 'p_%'" >"$T/ev2"
for f in out err status2.json hist2 ev2; do
	for v in "$SECRET2" "$(penc "$SECRET2")" "$B64" "$RT2" "$(penc "$RT2")"; do
		! grep -qF -- "$v" "$T/$f" ||
			fail "$f holds a credential ($(grep -oF -- "$v" "$T/$f" | head -1 | cut -c1-4)...)"
	done
done
cp "$T/out" "$T/out.p"; cp "$T/err" "$T/err.p"

# ---- 5. nothing leaked: no token or secret in any output, reason or event ----
ot history f_close_hdr >"$T/hist" 2>&1
for f in "$T/out.s" "$T/err.s" "$T/out" "$T/err" "$T/out.x" "$T/err.x" "$T/status.json" "$T/hist"; do
	! grep -q 'seed-\|A1-\|SRVTOK\|odd-client-secret' "$f" || fail "a token or the secret in $(basename "$f"): $(grep -o '.\{0,30\}\(seed-\|A1-\|SRVTOK\|odd-client-secret\).\{0,10\}' "$f" | head -3)"
done
leaks=$(sqlite3 "$STORE" "SELECT account FROM events WHERE reason LIKE '%seed-%' OR reason LIKE '%SRVTOK%' OR reason LIKE '%odd-client-secret%'
	UNION SELECT account FROM credentials WHERE last_error LIKE '%seed-%' OR last_error LIKE '%SRVTOK%'")
[ -z "$leaks" ] || fail "a token in the store's reasons: $leaks"
# every reason is one printable line
bad=$(jq -r '.accounts[] | select(.last_error != null) | select(.last_error | explode | any(. < 32 or . == 127)) | .name' "$T/status.json")
[ -z "$bad" ] || fail "control characters in last_error: $bad"
echo "all passed"
