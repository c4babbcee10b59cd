#!/bin/sh
# refresh end to end, the happy paths: scenario rows 1, 2, 3, 7 (new pair stored and equal to
# the server's; no / empty / null refresh token keeps the old one; lowercase bearer), nothing
# due means nothing done, client authentication (basic with a secret that needs encoding,
# post, none), scope only when configured, extra_params, Accept: application/json, exit
# codes and usage errors.
. "$(dirname "$0")/lib.sh"

idp_start --client 'odd id:p+s/=%:x&y' --public-client pub-client
write_config "a1 a2 a3 a7 fresh off" '' '"min_interval": 0,'
# "off" is disabled
sed -i 's/{ "name": "off", "provider": "idp" }/{ "name": "off", "provider": "idp", "enabled": false }/' "$T/cfg.json"
for a in a1 a2 a3 a7 off; do import_seed $a; done
import_seed fresh 7200

# Row 1: the due accounts are refreshed, the fresh one is left alone.
idp_rule '{"family":"a2","scenario":"ok_no_refresh_token"}'
idp_rule '{"family":"a3","scenario":"empty_refresh_token"}'
idp_rule '{"family":"a7","scenario":"bearer_lowercase"}'
expect_rc 0 ot refresh
grep -q '^a1: refreshed, access token valid 5[89]m [0-9]*s, rotated refresh token ([0-9a-f]\{8\})$' "$T/out" ||
	grep -q '^a1: refreshed, access token valid 1h 00m, rotated refresh token ([0-9a-f]\{8\})$' "$T/out" ||
	fail "a1 line: $(cat "$T/out")"
grep -q '^fresh:' "$T/out" && fail "fresh account was acted on"
grep -q '^off:' "$T/out" && fail "disabled account was acted on"
grep -q '^refresh: 4 refreshed, 0 failed, 0 needs reauthorization, 0 skipped$' "$T/out" ||
	fail "summary: $(tail -1 "$T/out")"
[ "$(db_rt a1)" = "$(idp_rt a1)" ] || fail "a1: store RT $(db_rt a1) != server $(idp_rt a1)"
case $(db_rt a1) in rt-a1-*) ;; *) fail "a1 RT not rotated: $(db_rt a1)" ;; esac
[ "$(db_col a1 access_token)" = "$(idp_family a1 | jq -r .current_access_token)" ] ||
	fail "a1 access token differs from the server's"
# Row 2 and 3: no / empty refresh token in the answer keeps the stored one.
[ "$(db_rt a2)" = seed-a2 ] || fail "a2 lost its refresh token: $(db_rt a2)"
[ "$(db_rt a3)" = seed-a3 ] || fail "a3 lost its refresh token: $(db_rt a3)"
grep -q '^a2: refreshed, access token valid .*[ms]$' "$T/out" || fail "a2 line"
grep -q '^a2:.*rotated' "$T/out" && fail "a2 claims rotation"
# Row 7: lowercase bearer accepted.
grep -q '^a7: refreshed' "$T/out" || fail "a7 (bearer) not refreshed"
status_json
for a in a1 a2 a3 a7 fresh; do
	[ "$(st_state $a)" = ok ] || fail "$a is $(st_state $a) after refresh"
done
[ "$(ev_kinds a1)" = "imported refreshed " ] || fail "a1 history: $(ev_kinds a1)"
old=$(sqlite3 "$STORE" "SELECT old_fp FROM events WHERE account='a1' AND kind='refreshed'")
new=$(sqlite3 "$STORE" "SELECT new_fp FROM events WHERE account='a1' AND kind='refreshed'")
[ "$old" = "$(printf seed-a1 | sha256sum | cut -c1-8)" ] || fail "old fp $old"
[ "$new" = "$(db_col a1 refresh_fp)" ] || fail "new fp $new"

# Row 3 with null, in a second round; nothing else is due.
idp_rule '{"family":"a3","scenario":"null_refresh_token"}'
expect_rc 0 ot refresh --force a3
[ "$(db_rt a3)" = seed-a3 ] || fail "a3 (null) lost its refresh token"

# Nothing due: refresh does nothing, exit 0, and sends nothing.
before=$(idp_stat token_requests)
expect_rc 0 ot refresh
grep -q '^refresh: 0 refreshed, 0 failed, 0 needs reauthorization, 0 skipped$' "$T/out" ||
	fail "second run: $(cat "$T/out")"
[ "$(wc -l <"$T/out")" = 1 ] || fail "second run printed more than the summary"
[ "$(idp_stat token_requests)" = "$before" ] || fail "a run with nothing due sent requests"

# The request: Accept json, basic auth, no scope unless configured.
f=$(idp_family a1)
[ "$(echo "$f" | jq -r .last_accept)" = application/json ] || fail "Accept: $(echo "$f" | jq -r .last_accept)"
[ "$(echo "$f" | jq -r .last_auth)" = basic ] || fail "auth: $(echo "$f" | jq -r .last_auth)"
[ "$(echo "$f" | jq -r '.last_params.scope // "none"')" = none ] || fail "scope sent without being configured"
[ "$(echo "$f" | jq -r .last_params.grant_type)" = refresh_token ] || fail "grant_type"

# Client authentication variants, a scope, extra params.
cat >"$T/cfg.json" <<JSON
{ "store": "$STORE", "min_interval": 0,
  "providers": {
    "odd": { "token_url": "$IDP_URL/token", "client_id": "odd id", "client_secret": "p+s/=%:x&y",
             "scope": "read write", "extra_params": { "audience": "https://api.example/x y" } },
    "post": { "token_url": "$IDP_URL/token", "client_id": "test-client",
              "client_secret_file": "$T/secret", "auth_method": "client_secret_post" },
    "pub": { "token_url": "$IDP_URL/token", "client_id": "pub-client", "auth_method": "none" } },
  "accounts": [ { "name": "b-odd", "provider": "odd" }, { "name": "b-post", "provider": "post" },
                { "name": "b-pub", "provider": "pub" } ] }
JSON
chmod 600 "$T/cfg.json"
for a in b-odd b-post b-pub; do import_seed $a; done
expect_rc 0 ot refresh --all
grep -q '^refresh: 3 refreshed' "$T/out" || fail "auth variants: $(cat "$T/out")"
f=$(idp_family b-odd)
[ "$(echo "$f" | jq -r .last_client_id)" = "odd id" ] || fail "odd client id"
[ "$(echo "$f" | jq -r .last_auth)" = basic ] || fail "odd auth $(echo "$f" | jq -r .last_auth)"
[ "$(echo "$f" | jq -r .last_params.scope)" = "read write" ] || fail "scope not sent"
[ "$(echo "$f" | jq -r .last_params.audience)" = "https://api.example/x y" ] || fail "extra param"
[ "$(idp_family b-post | jq -r .last_auth)" = post ] || fail "post auth"
[ "$(idp_family b-pub | jq -r .last_auth)" = none ] || fail "none auth: $(idp_family b-pub | jq -r .last_auth)"
grep -rq 'p+s/=%:x&y\|test-secret' "$T/out" "$T/err" && fail "a secret in the output"

# client_credentials: a new grant each time, no refresh token; a refused scope is a failure
# retried later (no user can fix it by authorizing), a refused client is reauth.
cat >"$T/cfg.json" <<JSON
{ "store": "$STORE", "min_interval": 0,
  "providers": { "idp": { "token_url": "$IDP_URL/token", "client_id": "test-client",
                          "client_secret_file": "$T/secret" } },
  "accounts": [ { "name": "svc", "provider": "idp", "grant": "client_credentials", "scope": "s1" },
                { "name": "svc2", "provider": "idp", "grant": "client_credentials", "enabled": false } ] }
JSON
expect_rc 0 ot refresh
grep -q '^svc: refreshed, access token valid' "$T/out" || fail "cc due (no token yet): $(cat "$T/out")"
[ "$(db_col svc access_token)" = "$(idp_family client:test-client | jq -r .current_access_token)" ] || fail "cc token"
[ -z "$(db_rt svc)" ] || fail "cc stored a refresh token"
[ "$(idp_family client:test-client | jq -r .last_params.grant_type)" = client_credentials ] || fail "cc grant_type"
[ "$(idp_family client:test-client | jq -r .last_params.scope)" = s1 ] || fail "cc scope"
idp_rule '{"client_id":"test-client","grant":"client_credentials","scenario":"invalid_scope"}'
expect_rc 1 ot refresh --force svc
grep -q '^svc: failed: invalid_scope' "$T/out" || fail "cc invalid_scope: $(cat "$T/out")"
expect_rc 0 ot refresh svc2
grep -q '^svc2: skipped: disabled' "$T/out" || fail "disabled named account: $(cat "$T/out")"
idp_rule '{"client_id":"test-client","grant":"client_credentials","scenario":"invalid_client"}'
expect_rc 2 ot refresh --force svc
grep -q '^svc: needs reauthorization: client rejected' "$T/out" || fail "cc invalid_client: $(cat "$T/out")"

# Usage: unknown account names it and exits 3 before doing anything; help; bad options.
before=$(idp_stat token_requests)
expect_rc 3 ot refresh svc nosuch --force
grep -q 'unknown account "nosuch"' "$T/err" || fail "unknown account message: $(cat "$T/err")"
[ "$(idp_stat token_requests)" = "$before" ] || fail "refreshed despite a usage error"
expect_rc 0 ot refresh --help
grep -q -- '--concurrency' "$T/out" || fail "help text"
expect_rc 3 ot refresh --concurrency 0
expect_rc 3 ot refresh --bogus
sed -i 's/, "enabled": false//' "$T/cfg.json"
expect_rc 0 ot --concurrency=2 refresh svc2 --force
grep -q '^svc2: refreshed' "$T/out" || fail "--opt=value before the command: $(cat "$T/out")"
echo "all passed"
