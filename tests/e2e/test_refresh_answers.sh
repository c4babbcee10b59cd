#!/bin/sh
# refresh end to end, how answers are read: scenario rows 4 (expires_in as a string; "abc"
# is malformed), 5 (no expires_in: default_expires_in, else unknown), 6 (0, -1, 3599.9, 1e12:
# no tight loop, floor, clamp), 8 (refresh_expires_in, then 0), 9 (GitHub expiries, empty
# scope), 10 (Intuit x_refresh_token_expires_in as strings), 11 (extra members), 28 (a
# form-encoded answer).
. "$(dirname "$0")/lib.sh"

idp_start
accts="r4 r4bad r5 r5d r6zero r6neg r6float r6huge r8 r9 r10 r11 r28"
write_config "$accts" '' '"min_interval": 5,'
# r5d uses a provider with default_expires_in.
sed -i 's/"accounts": \[/"accounts": [ { "name": "r5d", "provider": "dflt" },/; s/{ "name": "r5d", "provider": "idp" }, //' "$T/cfg.json"
sed -i "s|\"providers\": {|\"providers\": { \"dflt\": { \"token_url\": \"$IDP_URL/token\", \"client_id\": \"test-client\", \"client_secret_file\": \"$T/secret\", \"default_expires_in\": 1234 },|" "$T/cfg.json"
for a in $accts; do import_seed $a; done

idp_rule '{"family":"r4","scenario":"expires_in_string"}'
idp_rule '{"family":"r4bad","scenario":"expires_in_bad"}'
idp_rule '{"family":"r5","scenario":"no_expires_in"}'
idp_rule '{"family":"r5d","scenario":"no_expires_in"}'
idp_rule '{"family":"r6zero","scenario":"expires_in_value","params":{"value":0}}'
idp_rule '{"family":"r6neg","scenario":"expires_in_value","params":{"value":"-1"}}'
idp_rule '{"family":"r6float","scenario":"expires_in_value","params":{"value":"3599.9"}}'
idp_rule '{"family":"r6huge","scenario":"expires_in_value","params":{"value":"1e12"}}'
idp_rule '{"family":"r8","scenario":"refresh_expires_in","params":{"value":1800}}'
idp_rule '{"family":"r9","scenario":"github_expiry"}'
idp_rule '{"family":"r10","scenario":"intuit_expiry"}'
idp_rule '{"family":"r11","scenario":"extra_members"}'
idp_rule '{"family":"r28","scenario":"form_encoded"}'

t0=$(date +%s)
expect_rc 1 ot refresh
t1=$(date +%s)
grep -q '^refresh: 12 refreshed, 1 failed, 0 needs reauthorization, 0 skipped$' "$T/out" ||
	fail "summary: $(cat "$T/out")"
grep -q '^r4bad: failed: malformed answer' "$T/out" || fail "r4bad line: $(grep r4bad "$T/out")"

# exp NAME WANT: access_expires_at - last_attempt_at (the send time) must be WANT.
exp() {
	got=$(sqlite3 "$STORE" "SELECT access_expires_at - last_attempt_at FROM credentials WHERE account='$1'")
	[ "$got" = "$2" ] || fail "$1: access lifetime $got, want $2"
}
exp r4 3599
[ "$(db_rt r4bad)" = seed-r4bad ] || fail "r4bad: tokens not kept"
[ "$(db_col r4bad access_token)" = A1-r4bad ] || fail "r4bad: access token not kept"
[ "$(db_col r5 access_expires_at)" = 0 ] || fail "r5: expiry should be unknown"
exp r5d 1234
exp r6zero 0
exp r6neg 0
exp r6float 3599
got=$(sqlite3 "$STORE" "SELECT access_expires_at - last_attempt_at FROM credentials WHERE account='r6huge'")
[ "$got" -gt 300000000 ] && [ "$got" -le 315576000 ] || fail "r6huge: lifetime $got not clamped to ~10 years"
rexp() {
	got=$(sqlite3 "$STORE" "SELECT CASE refresh_expires_at WHEN 0 THEN 0 ELSE refresh_expires_at - last_attempt_at END FROM credentials WHERE account='$1'")
	[ "$got" = "$2" ] || fail "$1: refresh lifetime $got, want $2"
}
rexp r8 1800
rexp r9 15811200
exp r9 28800
[ "$(sqlite3 "$STORE" "SELECT quote(scope) FROM credentials WHERE account='r9'")" = "''" ] ||
	fail "r9: empty scope not stored as empty"
rexp r10 8726400
exp r10 3600
[ "$(db_rt r10)" = "$(idp_rt r10)" ] || fail "r10: new RT not stored"
[ "$(db_rt r11)" = "$(idp_rt r11)" ] || fail "r11 RT"
[ "$(db_rt r28)" = "$(idp_rt r28)" ] || fail "r28 (form-encoded) RT"
[ "$(db_col r28 access_token)" = "$(idp_family r28 | jq -r .current_access_token)" ] || fail "r28 AT"

status_json
[ "$(st_state r5)" = due ] || fail "r5 (unknown expiry) is $(st_state r5), want due"
[ "$(st_field r5 access_expires_in)" = null ] || fail "r5 access_expires_in should be null"
[ "$(st_state r6zero)" = expired ] || fail "r6zero is $(st_state r6zero)"
[ "$(st_state r4bad)" = failing ] || fail "r4bad is $(st_state r4bad)"
left=$(st_field r8 refresh_expires_in)
[ "$left" -gt 1780 ] && [ "$left" -le 1800 ] || fail "r8 refresh_expires_in $left"

# Row 6: no tight loop: the expired-at-once accounts are not attempted again right away.
before=$(idp_stat token_requests)
expect_rc 0 ot refresh
[ "$(idp_stat token_requests)" = "$before" ] || fail "attempted again inside min_interval: $(cat "$T/out")"

# Row 8, second half: refresh_expires_in 0 means no known expiry.
idp_rule '{"family":"r8","scenario":"refresh_expires_in","params":{"value":0}}'
expect_rc 0 ot refresh --force r8
[ "$(db_col r8 refresh_expires_at)" = 0 ] || fail "r8: refresh_expires_in 0 must clear the expiry"
status_json
[ "$(st_field r8 refresh_expires_in)" = null ] || fail "r8: unknown refresh expiry not null"
echo "all passed"
