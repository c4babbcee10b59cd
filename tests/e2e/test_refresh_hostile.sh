#!/bin/sh
# Hostile answers never hurt the keeper: a 10 MiB body and an endless one are cut at 1 MiB,
# 100000-deep JSON and NUL bytes are malformed, a slow-loris answer runs into
# the total timeout. Each is a transient failure with every token kept, in bounded time.
. "$(dirname "$0")/lib.sh"

idp_start
accts="huge endless deep nul nulesc loris"
write_config "$accts" '' '"timeouts": { "connect": 2, "total": 3 },'
for a in $accts; do import_seed $a; done
rule() { idp_rule "{\"family\":\"$1\",\"scenario\":\"$2\"${3:+,\"params\":$3}}"; }
rule huge huge_body
rule endless endless_body
rule deep deep_json
rule nul nul_bytes
rule nulesc nul_bytes '{"escaped":true}'
rule loris slow_loris '{"ms_per_byte":1000}'

start=$(date +%s)
expect_rc 1 ot refresh
took=$(( $(date +%s) - start ))
[ "$took" -le 8 ] || fail "hostile answers took $took s"
grep -q '^refresh: 0 refreshed, 6 failed, 0 needs reauthorization, 0 skipped$' "$T/out" ||
	fail "summary: $(cat "$T/out")"
grep -q '^huge: failed: answer larger than 1 MiB' "$T/out" || fail "huge: $(grep '^huge' "$T/out")"
grep -q '^endless: failed: answer larger than 1 MiB' "$T/out" || fail "endless: $(grep '^endless' "$T/out")"
grep -q '^deep: failed: malformed answer' "$T/out" || fail "deep: $(grep '^deep' "$T/out")"
grep -q '^loris: failed: timeout after 3 s' "$T/out" || fail "loris: $(grep '^loris' "$T/out")"
for a in $accts; do
	[ "$(db_rt $a)" = "seed-$a" ] || fail "$a: refresh token not kept"
	[ "$(db_col $a access_token)" = "A1-$a" ] || fail "$a: access token not kept"
done
status_json
for a in $accts; do
	[ "$(st_state $a)" = failing ] || fail "$a is $(st_state $a), want failing"
done
echo "all passed"
