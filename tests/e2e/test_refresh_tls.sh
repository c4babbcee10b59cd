#!/bin/sh
# TLS: an https token endpoint signed by a test CA works with the provider's ca_file, and
# fails clearly (transient, tokens kept) without it or when the certificate names another
# host. Connections are reused within a run (fewer TLS handshakes than requests).
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null 2>&1 || ot_skip "openssl not installed"

# A server whose certificate names another host, then the good one (the admin helpers
# talk to the last one started).
sh "$OT_IDP_DIR/mkcerts.sh" "$T/certs" || fail "mkcerts.sh"
idp_start --tls-cert "$T/certs/wrong-name.pem" --tls-key "$T/certs/wrong-name.key"
wrong_url="https://127.0.0.1:$IDP_PORT"
idp_start_tls
good_url=$IDP_URL


umask 077
printf 'test-secret' >"$T/secret"
cat >"$T/cfg.json" <<JSON
{ "store": "$STORE", "min_interval": 0,
  "providers": {
    "ca": { "token_url": "$good_url/token", "client_id": "test-client",
            "client_secret_file": "$T/secret", "ca_file": "$IDP_CA" },
    "noca": { "token_url": "$good_url/token", "client_id": "test-client",
              "client_secret_file": "$T/secret" },
    "wrong": { "token_url": "$wrong_url/token", "client_id": "test-client",
               "client_secret_file": "$T/secret", "ca_file": "$IDP_CA" } },
  "accounts": [ { "name": "t1", "provider": "ca" }, { "name": "t2", "provider": "ca" },
                { "name": "t3", "provider": "ca" }, { "name": "t4", "provider": "ca" },
                { "name": "plain", "provider": "noca" }, { "name": "badname", "provider": "wrong" } ] }
JSON
for a in t1 t2 t3 t4 plain badname; do import_seed $a; done

expect_rc 1 ot refresh --concurrency=1
for a in t1 t2 t3 t4; do
	grep -q "^$a: refreshed" "$T/out" || fail "$a over https with ca_file: $(cat "$T/out")"
	[ "$(db_rt $a)" = "$(idp_rt $a)" ] || fail "$a: store and server disagree"
done
grep -q '^plain: failed: TLS: .*certificate' "$T/out" || fail "plain without ca_file: $(grep '^plain' "$T/out")"
grep -q '^badname: failed: TLS: .*\(name\|match\|127.0.0.1\)' "$T/out" || fail "wrong name: $(grep '^badname' "$T/out")"
for a in plain badname; do
	[ "$(db_rt $a)" = "seed-$a" ] || fail "$a: tokens not kept"
done
# Four refreshes one after the other on one keep-alive connection.
hs=$(idp_stat tls_handshakes)
[ "$hs" -lt 4 ] || fail "$hs TLS handshakes for 4 sequential requests: connections not reused"
echo "all passed"
