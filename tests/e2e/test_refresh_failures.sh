#!/bin/sh
# refresh end to end, failures: transient ones (rows 12, 23-27 and friends) keep every token,
# back off honouring Retry-After / X-Rate-Limit-Reset and are not retried early; permanent
# ones (rows 13, 15-17, 20, vendor bodies) and client rejections (rows 18, 19) keep every
# token, need reauthorization, are never retried automatically nor by --force, and a client
# rejection is re-armed when the provider's configuration changes. Exit codes 1 and 2.
. "$(dirname "$0")/lib.sh"

idp_start
# A port nobody listens on: start a server, note its port, stop it.
idp_start
dead_port=$IDP_PORT
idp_stop
idp_start
transient="t12 t23 t24 t25 t25b t26a t26b t26c t26d t26e t27"
permanent="p13 p15 p16 p17 p20 pv pe"
client="c18 c19 c19b"
write_config "$transient $permanent $client t26f" '' \
	'"backoff": { "base": 1, "max": 2 }, "timeouts": { "connect": 2, "total": 2 },'
sed -i "s|\"providers\": {|\"providers\": { \"dead\": { \"token_url\": \"http://127.0.0.1:$dead_port/token\", \"client_id\": \"c\", \"client_secret\": \"s\" },|; s/{ \"name\": \"t26f\", \"provider\": \"idp\" }/{ \"name\": \"t26f\", \"provider\": \"dead\" }/" "$T/cfg.json"
for a in $transient $permanent $client t26f; do import_seed $a; done

rule() { idp_rule "{\"family\":\"$1\",\"scenario\":\"$2\"${3:+,\"params\":$3}}"; }
rule t12 html_200
rule t23 rate_limit_retry_after '{"seconds":60}'
rule t24 rate_limit_reset '{"seconds":90}'
rule t25 unavailable '{"seconds":30}'
rule t25b temporarily_unavailable_400
rule t26a server_error
rule t26b bad_gateway_empty
rule t26c gateway_timeout_empty
rule t26d close
rule t26e stall '{"ms":60000}'
rule t27 redirect
rule p13 github_bad_refresh_token
rule p15 invalid_grant
rule p16 invalid_grant_403
rule p17 zoom_invalid_grant
rule p20 invalid_scope
rule pv vendor_status
rule pe entra_invalid_grant
rule c18 invalid_client
rule c19 servicenow_401
rule c19b unauthorized_client

# Transient failures: exit 1, one "failed" line each with its retry time.
now=$(date +%s)
expect_rc 1 ot refresh $transient t26f
grep -q '^refresh: 0 refreshed, 12 failed, 0 needs reauthorization, 0 skipped$' "$T/out" ||
	fail "transient summary: $(cat "$T/out")"
for a in $transient t26f; do
	grep -q "^$a: failed: .*, retry in " "$T/out" || fail "$a line: $(grep "^$a:" "$T/out")"
	[ "$(db_rt $a)" = "seed-$a" ] || fail "$a: refresh token not kept"
	[ "$(db_col $a access_token)" = "A1-$a" ] || fail "$a: access token not kept"
	[ "$(db_col $a failures)" = 1 ] || fail "$a: failures $(db_col $a failures)"
	case $(ev_last $a) in failed\|*) ;; *) fail "$a: last event $(ev_last $a)" ;; esac
done
grep -q '^t12: failed: malformed answer' "$T/out" || fail "t12 (HTML) reason"
grep -q '^t27: failed: HTTP 302' "$T/out" || fail "t27 (redirect) reason: $(grep '^t27' "$T/out")"
grep -q '^t26e: failed: timeout after 2 s' "$T/out" || fail "t26e (stall) reason: $(grep '^t26e' "$T/out")"
grep -q '^t26f: failed: connection failed' "$T/out" || fail "t26f (refused) reason: $(grep '^t26f' "$T/out")"
grep -q '^t26b: failed: HTTP 502' "$T/out" || fail "t26b reason"
# Retry times: Retry-After 60, X-Rate-Limit-Reset +90, Retry-After 30; else backoff 1-2 s
# (or the short retry of a lost answer).
next() { echo $(( $(db_col $1 next_attempt_at) - now )); }
n=$(next t23); [ "$n" -ge 59 ] && [ "$n" -le 62 ] || fail "t23 retry in $n s, want 60"
n=$(next t24); [ "$n" -ge 89 ] && [ "$n" -le 92 ] || fail "t24 retry in $n s, want 90"
n=$(next t25); [ "$n" -ge 29 ] && [ "$n" -le 32 ] || fail "t25 retry in $n s, want 30"
n=$(next t26a); [ "$n" -ge 1 ] && [ "$n" -le 4 ] || fail "t26a retry in $n s, want 1-2"
grep -q '^t23: failed: HTTP 429.*, retry in \(1m 00s\|59s\)$' "$T/out" || fail "t23 line"
status_json
for a in $transient t26f; do
	[ "$(st_state $a)" = failing ] || fail "$a is $(st_state $a), want failing"
done
[ "$(st_field t25 last_error)" != null ] || fail "t25 last_error missing"

# Permanent failures: exit 2, reason recorded, tokens kept.
expect_rc 2 ot refresh $permanent
grep -q '^refresh: 0 refreshed, 0 failed, 7 needs reauthorization, 0 skipped$' "$T/out" ||
	fail "permanent summary: $(cat "$T/out")"
for a in $permanent; do
	grep -q "^$a: needs reauthorization: .* \\(—\\|-\\) .*oauthtop authorize $a" "$T/out" ||
		fail "$a line: $(grep "^$a:" "$T/out")"
	[ "$(db_rt $a)" = "seed-$a" ] || fail "$a: refresh token not kept"
	[ "$(db_col $a access_token)" = "A1-$a" ] || fail "$a: access token not kept"
	case $(ev_last $a) in reauth\|*) ;; *) fail "$a: last event $(ev_last $a)" ;; esac
	[ "$(db_col $a next_attempt_at)" = 0 ] || fail "$a: a retry was scheduled"
done
grep -q '^p15: needs reauthorization: invalid_grant: Token has been expired or revoked\.' "$T/out" || fail "p15 reason"
grep -q '^p13: needs reauthorization: bad_refresh_token' "$T/out" || fail "p13 reason"
grep -q '^p17: needs reauthorization: invalid_grant' "$T/out" || fail "p17 reason"
grep -q '^p20: needs reauthorization: invalid_scope' "$T/out" || fail "p20 reason"
status_json
for a in $permanent; do
	[ "$(st_state $a)" = reauth ] || fail "$a is $(st_state $a), want reauth"
done
st_field p15 last_error | grep -q 'Token has been expired or revoked' || fail "p15 last_error in status"

# Client rejected: reauth with "client rejected", the configuration is the fix.
expect_rc 2 ot refresh $client
for a in $client; do
	grep -q "^$a: needs reauthorization: client rejected" "$T/out" || fail "$a line: $(grep "^$a:" "$T/out")"
	[ "$(db_rt $a)" = "seed-$a" ] || fail "$a: refresh token not kept"
	[ -n "$(db_col $a client_fp)" ] || fail "$a: client fingerprint not recorded"
done
grep -q '^c18: .*client_secret' "$T/out" || fail "c18 hint does not point at the configuration"

# Lost answers (the request went out, no answer came back) are retried soon, by the
# due-only run, whatever min_interval says; nothing else is due: rate limits still run,
# the plain failures are inside min_interval, the reauth ones are never retried.
sleep 6
before=$(idp_stat token_requests)
expect_rc 0 ot refresh
grep -q '^t26d: refreshed.*recovered a lost answer' "$T/out" || fail "t26d (closed) not retried: $(cat "$T/out")"
grep -q '^t26e: refreshed.*recovered a lost answer' "$T/out" || fail "t26e (stalled) not retried: $(cat "$T/out")"
[ "$(idp_stat token_requests)" = $((before + 2)) ] || fail "the due-only run sent more than the 2 lost-answer retries: $(cat "$T/out")"
[ "$(db_rt t26e)" = "$(idp_rt t26e)" ] || fail "t26e store and server disagree after recovery"
[ "$(db_col t26e failures)" = 0 ] || fail "t26e failures not reset"

# Rows 23-25: no request before the server's time, even when asked by name (no --force).
r23=$(idp_family t23 | jq .requests)
expect_rc 1 ot refresh t23 t24 t25
grep -q '^t23: skipped: backing off after a failure: retry in' "$T/out" || fail "t23 not skipped: $(cat "$T/out")"
[ "$(idp_family t23 | jq .requests)" = "$r23" ] || fail "t23 was retried inside Retry-After"
# --force ignores backoff and min_interval.
expect_rc 0 ot refresh --force t26a
grep -q '^t26a: refreshed' "$T/out" || fail "t26a not refreshed by --force: $(cat "$T/out")"
[ "$(db_rt t26a)" = "$(idp_rt t26a)" ] || fail "t26a store and server disagree after recovery"

# Never retried: neither due-only, nor named, nor forced; no request reaches the server.
before=$(idp_stat token_requests)
expect_rc 2 ot refresh --force $permanent $client
[ "$(idp_stat token_requests)" = "$before" ] || fail "a reauth account was attempted again"
grep -q '^p15: needs reauthorization' "$T/out" || fail "forced reauth account line: $(cat "$T/out")"
grep -q '^refresh: 0 refreshed, 0 failed, 10 needs reauthorization, 0 skipped$' "$T/out" ||
	fail "forced reauth summary: $(tail -1 "$T/out")"
expect_rc 2 ot refresh --all --force
[ "$(idp_stat token_requests)" -gt "$before" ] || fail "--all --force sent nothing"
[ "$(idp_family p15 | jq .requests)" = 1 ] || fail "p15 attempted again by --all --force"

# Re-armed when the provider's configuration changes (here: the secret).
printf 'wrong-secret' >"$T/secret"
expect_rc 2 ot refresh --force c19
grep -q '^c19: needs reauthorization: client rejected: invalid_client' "$T/out" || fail "c19 re-arm: $(cat "$T/out")"
printf 'test-secret' >"$T/secret"
expect_rc 0 ot refresh --force c19
grep -q '^c19: refreshed' "$T/out" || fail "c19 not re-armed: $(cat "$T/out")"
echo "all passed"
