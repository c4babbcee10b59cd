#!/bin/sh
# authorize, code + PKCE on the loopback redirect (RFC 7636, RFC 8252): the authorization URL
# (S256 challenge, state, redirect to 127.0.0.1), other paths answered 404 without ending the
# wait, a wrong state refused and the listener closed, error=access_denied (exit 2), the
# timeout (exit 2), a configured redirect_port, and the code exchange (which the test token
# server refuses: it has no authorization endpoint) sending code, verifier and redirect_uri.
. "$(dirname "$0")/lib.sh"

idp_start --log "$T/idp.log"
write_config "web" "\"authorization_url\": \"$IDP_URL/authorize?tenant=t1\", \"scope\": \"openid offline_access\","

BG=""
# start_auth [ARGS...]: oauthtop authorize web --code in the background; sets URL, STATE,
# REDIRECT once the URL is printed.
start_auth() {
	ot authorize web --code --no-browser "$@" >"$T/a.out" 2>"$T/a.err" &
	BG=$!
	OT_PIDS="$OT_PIDS $BG"
	URL=""
	_i=0
	while [ -z "$URL" ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
		URL=$(sed -n 's/^    \(http:.*\/authorize?.*\)$/\1/p' "$T/a.out")
	done
	[ -n "$URL" ] || { cat "$T/a.out" "$T/a.err" >&2; fail "no authorization URL printed"; }
	STATE=$(printf '%s\n' "$URL" | sed -n 's/.*[?&]state=\([^&]*\).*/\1/p')
	REDIRECT=$(printf '%s\n' "$URL" | sed -n 's/.*[?&]redirect_uri=\([^&]*\).*/\1/p' |
		sed 's/%3A/:/g; s/%2F/\//g')
}

# finish: waits for the background authorize (10 s at most); RC is its exit status.
finish() {
	_i=0
	while kill -0 "$BG" 2>/dev/null && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill "$BG" 2>/dev/null
	wait "$BG"
	RC=$?
}

# 1. the URL, then a stray request (404, still waiting), then a forged state.
start_auth
case "$URL" in
"$IDP_URL/authorize?tenant=t1&response_type=code&client_id=test-client&"*) ;;
*) fail "authorization URL: $URL" ;;
esac
echo "$URL" | grep -q "code_challenge_method=S256" || fail "no S256"
challenge=$(printf '%s\n' "$URL" | sed -n 's/.*code_challenge=\([A-Za-z0-9_-]*\).*/\1/p')
[ ${#challenge} = 43 ] || fail "code_challenge length ${#challenge}"
[ ${#STATE} -ge 22 ] || fail "state too short: $STATE"
echo "$URL" | grep -q "scope=openid%20offline_access" || fail "scope"
echo "$URL" | grep -q "prompt=consent" || fail "offline_access without prompt=consent"
case "$REDIRECT" in http://127.0.0.1:[0-9]*/callback) ;; *) fail "redirect_uri $REDIRECT" ;; esac
code=$(curl -s -o /dev/null -w '%{http_code}' "${REDIRECT%/callback}/favicon.ico")
[ "$code" = 404 ] || fail "stray path answered $code"
kill -0 "$BG" 2>/dev/null || fail "a stray request ended the wait"
code=$(curl -s -o "$T/page" -w '%{http_code}' "$REDIRECT?code=abc&state=forged")
[ "$code" = 400 ] || fail "forged state answered $code"
finish
[ "$RC" = 1 ] || fail "forged state: exit $RC"
grep -q "state does not match" "$T/a.err" || fail "forged state not explained: $(cat "$T/a.err")"
curl -s -m 2 -o /dev/null "$REDIRECT?code=abc&state=$STATE" && fail "the listener is still open"
[ -z "$(db_col web account)" ] || fail "something stored"

# 2. the user denies: exit 2.
start_auth
curl -s -o "$T/page" "$REDIRECT?error=access_denied&error_description=User+said+no&state=$STATE"
grep -q "not granted" "$T/page" || fail "denial page"
finish
[ "$RC" = 2 ] || fail "denied: exit $RC"
grep -q "access_denied: User said no" "$T/a.err" || fail "denial not explained: $(cat "$T/a.err")"

# 3. nobody comes: exit 2 after the timeout.
start_auth --timeout 1
finish
[ "$RC" = 2 ] || fail "timeout: exit $RC"
grep -q "no redirect came within 1 s" "$T/a.err" || fail "timeout not explained"

# 4. a configured port, and the code exchange at the token endpoint.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
	echo 48213)
write_config "web" "\"authorization_url\": \"$IDP_URL/authorize\", \"redirect_port\": $port,"
start_auth
[ "$REDIRECT" = "http://127.0.0.1:$port/callback" ] || fail "redirect_port ignored: $REDIRECT"
curl -s -o "$T/page" "$REDIRECT?code=the-code&state=$STATE&iss=whatever"
grep -q "authorization received" "$T/page" || fail "success page: $(cat "$T/page")"
finish
[ "$RC" = 3 ] || fail "exchange refused by the server: exit $RC (want 3)"
grep -q "unsupported_grant_type" "$T/a.err" || fail "exchange error not reported: $(cat "$T/a.err")"
grep '"grant":"authorization_code"' "$T/idp.log" >"$T/x.log" || fail "no code exchange reached the server"
jq -e '.client_id == "test-client" and .auth == "basic"' "$T/x.log" >/dev/null ||
	fail "exchange: $(cat "$T/x.log")"
grep -q "the-code" "$T/a.out" "$T/a.err" && fail "the code was printed"
exit 0
