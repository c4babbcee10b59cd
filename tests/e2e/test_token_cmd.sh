#!/bin/sh
# `oauthtop token ACCOUNT [--min-valid S]`: prints only the access token on stdout; a fresh
# token needs no request; a due one is refreshed first; --min-valid forces a refresh when
# less is left; a transient failure with a still-valid token prints it and warns (0); no
# valid token and a transient failure is 1; reauth is 2; an unknown account is 3; a
# client_credentials account gets its token by a new grant; a second caller waits for a
# refresh in progress instead of failing.
. "$(dirname "$0")/lib.sh"

idp_start
write_config "fresh due short flaky dead gone busy cc:client_credentials" '' '"min_interval": 0,'
import_seed fresh 7200
import_seed due 100
import_seed short 1000
import_seed flaky 100
import_seed dead -5
import_seed gone 100
import_seed busy 100

# Fresh: printed from the store, no request.
before=$(idp_stat token_requests)
expect_rc 0 ot token fresh
[ "$(cat "$T/out")" = A1-fresh ] || fail "fresh printed: $(cat "$T/out")"
[ -s "$T/err" ] && fail "fresh: stderr not empty: $(cat "$T/err")"
[ "$(idp_stat token_requests)" = "$before" ] || fail "a fresh token caused a request"

# Due (inside the window): refreshed first; stdout is exactly the new token.
expect_rc 0 ot token due
[ "$(cat "$T/out")" = "$(idp_family due | jq -r .current_access_token)" ] || fail "due printed $(cat "$T/out")"
[ "$(wc -l <"$T/out")" = 1 ] || fail "stdout has more than the token"
[ "$(db_rt due)" = "$(idp_rt due)" ] || fail "due: store and server disagree"
case $(ev_last due) in refreshed\|*) ;; *) fail "due: last event $(ev_last due)" ;; esac
expect_rc 0 ot token due
[ "$(cat "$T/out")" = "$(idp_family due | jq -r .current_access_token)" ] || fail "due second call"
[ "$(idp_family due | jq .requests)" = 1 ] || fail "a fresh token was refreshed again"

# --min-valid: 1000 s left is not due (window 300) but less than 2000.
expect_rc 0 ot token short
[ "$(cat "$T/out")" = A1-short ] || fail "short without --min-valid refreshed"
expect_rc 0 ot token short --min-valid 2000
[ "$(cat "$T/out")" = "$(idp_family short | jq -r .current_access_token)" ] || fail "--min-valid did not refresh"
expect_rc 0 ot token --min-valid=60 short
[ "$(idp_family short | jq .requests)" = 1 ] || fail "--min-valid 60 refreshed again"

# Transient failure, token still valid: printed, warning on stderr, exit 0.
idp_rule '{"family":"flaky","scenario":"unavailable","params":{"seconds":30}}'
expect_rc 0 ot token flaky
[ "$(cat "$T/out")" = A1-flaky ] || fail "flaky printed $(cat "$T/out")"
grep -q 'warning.*flaky.*refresh failed.*503.*still valid' "$T/err" || fail "flaky warning: $(cat "$T/err")"
# Expired and a transient failure: nothing printed, exit 1.
idp_rule '{"family":"dead","scenario":"server_error"}'
expect_rc 1 ot token dead
[ -s "$T/out" ] && fail "dead: something printed: $(cat "$T/out")"
grep -q 'dead' "$T/err" || fail "dead: no message"
# Reauth: exit 2 with the remedy.
idp_rule '{"family":"gone","scenario":"invalid_grant"}'
expect_rc 2 ot token gone
[ -s "$T/out" ] && fail "gone: something printed"
grep -q 'needs reauthorization.*oauthtop authorize gone' "$T/err" || fail "gone message: $(cat "$T/err")"
expect_rc 2 ot token gone
# client_credentials: a first token by a new grant.
expect_rc 0 ot token cc
[ "$(cat "$T/out")" = "$(idp_family client:test-client | jq -r .current_access_token)" ] ||
	fail "cc printed $(cat "$T/out")"
[ -z "$(db_rt cc)" ] || fail "cc has a refresh token"
# Two callers at once: one refreshes, the other waits for its lease and prints the new token.
idp_rule '{"family":"busy","scenario":"latency","params":{"ms":1500}}'
"$OAUTHTOP" --config "$T/cfg.json" token busy >"$T/busy1" 2>"$T/busy1.err" &
b1=$!
sleep 0.5
expect_rc 0 ot token busy
wait $b1 || fail "first busy caller failed: $(cat "$T/busy1.err")"
new=$(idp_family busy | jq -r .current_access_token)
[ "$(cat "$T/busy1")" = "$new" ] || fail "first busy caller printed $(cat "$T/busy1")"
[ "$(cat "$T/out")" = "$new" ] || fail "waiting busy caller printed $(cat "$T/out"), want the new token"
[ "$(idp_family busy | jq .requests)" = 1 ] || fail "both callers refreshed"
# Usage.
expect_rc 3 ot token nosuch
grep -q 'unknown account "nosuch"' "$T/err" || fail "unknown account message"
expect_rc 3 ot token
expect_rc 3 ot token fresh --min-valid abc
expect_rc 0 ot token --help
grep -q 'min-valid' "$T/out" || fail "help"
echo "all passed"
