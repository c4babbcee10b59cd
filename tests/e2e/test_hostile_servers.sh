#!/bin/sh
# Hostile token servers: slow-loris (a byte a second), a body that never ends, 10 MiB of
# JSON, JSON nested 100000 deep, a raw and an escaped NUL byte, invalid UTF-8 in the tokens,
# a Location redirect to another host (which must never see the request), a TLS certificate
# for another name, a server that closes mid-answer or never answers. Each one, refreshed
# alone: exit 1, state failing with a clear reason, within the total timeout (3 s) plus a
# margin, access and refresh tokens kept, peak RSS bounded (64 MB; 384 MB under ASan);
# then all of them at once in one run, which must end within the same bound; then the daemon
# retrying the quick ones every second for 8 s (memory flat, still failing, tokens kept).
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null 2>&1 || ot_skip "openssl not installed"

TOTAL=3          # timeouts.total in the configuration
MARGIN_MS=1500   # start-up, store, scheduling
RSS_MAX_KB=65536
GROWTH_MAX_KB=16384 # the daemon's RSS between its 3rd and 8th second
# ASan: shadow memory, and freed blocks wait in a quarantine of up to 256 MB.
grep -q __asan_init "$OAUTHTOP" 2>/dev/null && RSS_MAX_KB=393216 GROWTH_MAX_KB=393216
TIME=/usr/bin/time
[ -x "$TIME" ] || { TIME=""; echo "note: /usr/bin/time missing (Debian package time): RSS not checked"; }
ms() { date +%s%3N; }
# tok NAME access_token|refresh_token: a stored token value (the "secrets" table since store
# schema 2, "credentials" before).
tok() {
	_tt=credentials
	sqlite3 "$STORE" "SELECT name FROM sqlite_master WHERE name = 'secrets'" | grep -q . && _tt=secrets
	sqlite3 "$STORE" "SELECT $2 FROM $_tt WHERE account = '$1'"
}

# The redirect target: another host (another server) that must never get the request.
idp_start
target_url=$IDP_URL
target_admin=$IDP_ADMIN
# A TLS server whose certificate names wrong.example (same CA as the good certificate).
sh "$OT_IDP_DIR/mkcerts.sh" "$T/certs" || fail "mkcerts.sh"
idp_start --tls-cert "$T/certs/wrong-name.pem" --tls-key "$T/certs/wrong-name.key"
wrong_url="https://127.0.0.1:$IDP_PORT"
# The hostile server itself (the admin helpers talk to the last one started).
idp_start

names="slow_loris endless_body huge_body deep_json nul_raw nul_escaped invalid_utf8 redirect close stall tls_name"
accts=""
for a in $names; do
	p=idp; [ "$a" = tls_name ] && p=wrong
	accts="$accts${accts:+, }{ \"name\": \"$a\", \"provider\": \"$p\" }"
done
umask 077
printf 'test-secret' >"$T/secret"
cat >"$T/cfg.json" <<JSON
{ "store": "$STORE", "min_interval": 0, "timeouts": { "connect": 2, "total": $TOTAL },
  "backoff": { "base": 5, "max": 60 }, "concurrency": 16,
  "providers": {
    "idp": { "token_url": "$IDP_URL/token", "client_id": "test-client",
             "client_secret_file": "$T/secret", "max_concurrency": 16 },
    "wrong": { "token_url": "$wrong_url/token", "client_id": "test-client",
               "client_secret_file": "$T/secret", "ca_file": "$T/certs/ca.pem" } },
  "accounts": [ $accts ] }
JSON

rule() { idp_rule "{\"family\":\"$1\",\"scenario\":\"$2\",\"times\":0${3:+,\"params\":$3}}"; }
rules() {
	idp_admin DELETE /admin/rules >/dev/null || fail "delete rules"
	rule slow_loris slow_loris '{"ms_per_byte":1000}'
	rule endless_body endless_body
	rule huge_body huge_body '{"bytes":10485760}'
	rule deep_json deep_json '{"depth":100000}'
	rule nul_raw nul_bytes
	rule nul_escaped nul_bytes '{"escaped":true}'
	rule invalid_utf8 invalid_utf8
	rule redirect redirect "{\"location\":\"$target_url/token\"}"
	rule close close
	rule stall stall '{"ms":600000}'
}
reason_of() {
	case $1 in
	slow_loris | stall) echo "timeout after $TOTAL s" ;;
	endless_body | huge_body) echo "answer larger than 1 MiB" ;;
	deep_json) echo "JSON nesting too deep" ;;
	nul_raw) echo "NUL byte in the answer" ;;
	nul_escaped) echo "access_token contains control characters" ;;
	invalid_utf8) echo "access_token is not ASCII" ;;
	redirect) echo "HTTP 302 redirect not followed" ;;
	close) echo "\(empty reply from server\|connection closed\)" ;;
	tls_name) echo "TLS: .*\(name\|match\|127.0.0.1\)" ;;
	esac
}
seed_all() { for a in $names; do import_seed "$a"; done; }

# Checks account $1 after a failed attempt: failing, the reason, tokens kept, a failed event.
check_kept() {
	_a=$1
	_r=$(reason_of "$_a")
	grep -q "^$_a: failed: .*$_r" "$T/out" || fail "$_a: want reason /$_r/: $(grep "^$_a:" "$T/out")"
	[ "$(st_state "$_a")" = failing ] || fail "$_a: state $(st_state "$_a"), want failing"
	st_field "$_a" last_error | grep -q "$_r" || fail "$_a: last_error $(st_field "$_a" last_error)"
	[ "$(tok "$_a" refresh_token)" = "seed-$_a" ] || fail "$_a: refresh token not kept"
	[ "$(tok "$_a" access_token)" = "A1-$_a" ] || fail "$_a: access token not kept"
	case $(ev_last "$_a") in failed\|*) ;; *) fail "$_a: last event $(ev_last "$_a")" ;; esac
}

# 1. One at a time: time and peak memory of each.
rules
seed_all
printf '%-13s %8s %8s  %s\n' scenario ms rss_kb reason >"$T/figures"
for a in $names; do
	t0=$(ms)
	if [ -n "$TIME" ]; then
		$TIME -f '%M' -o "$T/rss" "$OAUTHTOP" --config "$T/cfg.json" refresh "$a" >"$T/out" 2>"$T/err"
	else
		"$OAUTHTOP" --config "$T/cfg.json" refresh "$a" >"$T/out" 2>"$T/err"
	fi
	rc=$?
	el=$(( $(ms) - t0 ))
	[ "$rc" = 1 ] || { cat "$T/out" "$T/err" >&2; fail "$a: refresh exited $rc, want 1"; }
	[ "$el" -le $((TOTAL * 1000 + MARGIN_MS)) ] || fail "$a: took $el ms (total timeout $TOTAL s)"
	rss=-
	if [ -n "$TIME" ]; then
		rss=$(tail -1 "$T/rss")
		[ "$rss" -le "$RSS_MAX_KB" ] || fail "$a: peak RSS $rss KB > $RSS_MAX_KB KB"
	fi
	status_json
	check_kept "$a"
	printf '%-13s %8s %8s  %s\n' "$a" "$el" "$rss" "$(st_field "$a" last_error)" >>"$T/figures"
done
# The timeouts really waited for the timeout (not a quick unrelated failure).
for a in slow_loris stall; do
	el=$(awk -v a=$a '$1 == a { print $2 }' "$T/figures")
	[ "$el" -ge $((TOTAL * 1000 - 200)) ] || fail "$a failed after $el ms, before the timeout"
done
# The redirect target never saw a request; the hostile server saw every one.
[ "$(curl -sS "$target_admin/admin/stats" | jq -r .token_requests)" = 0 ] ||
	fail "the redirect was followed to another host"

# 2. All at once (--force: the backoff is running), a fresh copy of every credential; the
# slow-loris answer rotated the server's family (its answer was lost): reset it.
for a in $names; do
	idp_admin POST /admin/seed "{\"family\":\"$a\",\"refresh_token\":\"seed-$a\"}" >/dev/null ||
		fail "reset family $a"
done
seed_all
t0=$(ms)
expect_rc 1 ot refresh --force $names
el=$(( $(ms) - t0 ))
[ "$el" -le $((TOTAL * 1000 + MARGIN_MS)) ] || fail "all at once took $el ms"
status_json
for a in $names; do check_kept "$a"; done
grep -q "^refresh: 0 refreshed, 11 failed, 0 needs reauthorization, 0 skipped$" "$T/out" ||
	fail "summary: $(tail -1 "$T/out")"
printf '%-13s %8s %8s  %s\n' all-at-once "$el" - "11 failed" >>"$T/figures"

# 3. The daemon against the quick ones, retrying every second for 8 s: memory stays bounded,
# every account stays failing (never reauth), tokens kept.
quick="endless_body huge_body deep_json nul_raw nul_escaped invalid_utf8 redirect close"
sed -i 's/"backoff": { "base": 5, "max": 60 }/"backoff": { "base": 1, "max": 1 }/' "$T/cfg.json"
before=$(idp_stat token_requests)
"$OAUTHTOP" --config "$T/cfg.json" daemon 2>"$T/daemon.err" &
DPID=$!
OT_PIDS="$OT_PIDS $DPID"
sleep 3
rss3=$(awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status")
sleep 5
rss8=$(awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$DPID/status")
kill -TERM "$DPID"
wait "$DPID" || fail "daemon exit status $?"
reqs=$(($(idp_stat token_requests) - before))
[ "$reqs" -ge 40 ] || fail "the daemon made only $reqs requests in 8 s: $(tail -5 "$T/daemon.err")"
[ "$hwm" -le "$RSS_MAX_KB" ] || fail "daemon peak RSS $hwm KB > $RSS_MAX_KB KB"
[ "$rss8" -le $((rss3 + GROWTH_MAX_KB)) ] || fail "daemon RSS grew from $rss3 KB to $rss8 KB in 5 s"
status_json
for a in $quick; do check_kept "$a"; done
printf '%-13s %8s %8s  %s\n' daemon-8s 8000 "$hwm" "$reqs requests, RSS $rss3 -> $rss8 KB" >>"$T/figures"
cat "$T/figures"
[ -n "${OT_FIGURES:-}" ] && cp "$T/figures" "$OT_FIGURES"
echo "all passed"
