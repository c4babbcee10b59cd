#!/bin/sh
# Secrets hygiene (DESIGN §8): distinctive token and client-secret values (SECRETSENTINEL...)
# go through import, refresh (success, transient failure, a server that echoes the refresh
# token and the client secret in its error), status in every format, history, token's
# stderr, check, verify (introspection), revoke, the daemon (text and JSON logs, --verbose)
# with all three hooks, and the console (script mode: table, details, a refresh, help). Not one of the values, nor its middle part
# (what a mask hides), may appear in any output, log line, screen, the store's tables other
# than credentials, or the environment / command line of the hooks oauthtop spawns (which
# get a clean environment: the client secret given through client_secret_env must not leak).
# A running daemon has core dumps disabled (RLIMIT_CORE 0) and is not dumpable.
. "$(dirname "$0")/lib.sh"

# A 29-character client secret (Google's are 35): shorter than the parser's pattern
# redaction (runs of 40+), so an echo of it must be cut by value (the engine does).
CS="GOCSPX-SENTINEL-4f9Q2mZx71kLp"
CS2="SECRETSENTINEL-post-secret-4HwT8vB1nR6e"
OT_TEST_CS=$CS
export OT_TEST_CS
CAP="$T/cap"
mkdir -p "$CAP" "$T/hooks"
: >"$T/secrets"
secret() { printf '%s\n' "$1" >>"$T/secrets"; }
secret "$CS"
secret "$CS2"
# tok NAME access_token|refresh_token: a stored token value (the "secrets" table since store
# schema 2, "credentials" before).
tok() {
	_tt=credentials
	sqlite3 "$STORE" "SELECT name FROM sqlite_master WHERE name = 'secrets'" | grep -q . && _tt=secrets
	sqlite3 "$STORE" "SELECT $2 FROM $_tt WHERE account = '$1'"
}
rnd() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }

idp_start --client "test-client:$CS" --client "post-client:$CS2" --token-bytes 48
accts="sa sb sc se sd sf"
umask 077
printf '%s\n' "$CS2" >"$T/secret2"
# The hook records its environment, its command line and its parent's (the shell oauthtop
# started, with exactly the environment oauthtop gave it).
cat >"$T/hook.sh.in" <<'HOOK'
#!/bin/sh
d="@DIR@/$OAUTHTOP_EVENT-$OAUTHTOP_ACCOUNT"
env >"$d.env"
tr '\0' ' ' </proc/$$/cmdline >"$d.cmdline"
tr '\0' ' ' </proc/$PPID/cmdline >"$d.parent-cmdline"
tr '\0' '\n' </proc/$PPID/environ >"$d.parent-environ"
HOOK
sed "s|@DIR@|$T/hooks|" "$T/hook.sh.in" >"$T/hook.sh"
cat >"$T/cfg.json" <<JSON
{ "store": "$STORE", "min_interval": 0, "backoff": { "base": 1, "max": 2 },
  "timeouts": { "connect": 2, "total": 3 },
  "hooks": { "reauth": "sh $T/hook.sh", "failing": "sh $T/hook.sh",
             "recovered": "sh $T/hook.sh" },
  "providers": {
    "idp": { "token_url": "$IDP_URL/token", "client_id": "test-client",
             "client_secret_env": "OT_TEST_CS", "revocation_url": "$IDP_URL/revoke",
             "introspection_url": "$IDP_URL/introspect" },
    "post": { "token_url": "$IDP_URL/token", "client_id": "post-client",
              "client_secret_file": "$T/secret2", "auth_method": "client_secret_post" } },
  "accounts": [ { "name": "sa", "provider": "idp" }, { "name": "sb", "provider": "idp" },
                { "name": "sc", "provider": "idp" }, { "name": "se", "provider": "post" },
                { "name": "sd", "provider": "idp" }, { "name": "sf", "provider": "idp" } ] }
JSON

# Every account starts from sentinel tokens the server knows.
for a in $accts; do
	at="SECRETSENTINEL-AT-$a-$(rnd)"
	rt="SECRETSENTINEL-RT-$a-$(rnd)"
	secret "$at"
	secret "$rt"
	idp_admin POST /admin/seed "{\"family\":\"$a\",\"refresh_token\":\"$rt\",\"access_token\":\"$at\",\"access_expires_in\":60}" \
		>/dev/null || fail "seed $a"
	printf '{"access_token":"%s","token_type":"Bearer","expires_in":60,"refresh_token":"%s"}' \
		"$at" "$rt" | ot import "$a" - >"$CAP/import-$a.out" 2>"$CAP/import-$a.err" ||
		fail "import $a: $(cat "$CAP/import-$a.err")"
done
# Whatever the store or the server holds now or later is a secret too.
collect() {
	for _a in $accts; do
		tok "$_a" access_token
		tok "$_a" refresh_token
	done >>"$T/secrets"
	for _a in $accts; do
		idp_family "$_a" | jq -r '.current_refresh_token // empty, .current_access_token // empty'
	done >>"$T/secrets"
}
# cap NAME CMD...: runs CMD, stdout and stderr kept in $CAP; rc in $T/rc.
cap() {
	_n=$1
	shift
	"$@" >"$CAP/$_n.out" 2>"$CAP/$_n.err"
	echo $? >"$T/rc"
}

# Servers that echo what they were sent: the refresh token and the client secret.
sc_rt=$(tok sc refresh_token)
idp_rule "{\"family\":\"sc\",\"scenario\":\"invalid_grant\",\"params\":{\"description\":\"refresh token $sc_rt unknown for $CS\"}}"
idp_rule "{\"family\":\"sb\",\"scenario\":\"unavailable\",\"params\":{\"seconds\":1}}"

# 1. refresh: sa and se succeed, sb fails transiently, sc is rejected with the echo.
cap refresh ot refresh sa sb sc se
[ "$(cat "$T/rc")" = 2 ] || fail "refresh exited $(cat "$T/rc"): $(cat "$CAP/refresh.out" "$CAP/refresh.err")"
grep -q '^sa: refreshed' "$CAP/refresh.out" || fail "sa not refreshed: $(cat "$CAP/refresh.out")"
grep -q '^se: refreshed' "$CAP/refresh.out" || fail "se (client_secret_post) not refreshed"
grep -q '^sb: failed' "$CAP/refresh.out" || fail "sb: $(grep '^sb' "$CAP/refresh.out")"
grep -q '^sc: needs reauthorization: invalid_grant' "$CAP/refresh.out" ||
	fail "sc: $(grep '^sc' "$CAP/refresh.out")"
collect

# 2. reading commands.
cap status ot status
cap status-json ot status --format json
cap status-prom ot status --format prometheus
for a in $accts; do cap "history-$a" ot history "$a"; done
cap token-sa ot token sa
[ "$(cat "$T/rc")" = 0 ] || fail "token sa exited $(cat "$T/rc")"
grep -qxF "$(tok sa access_token)" "$CAP/token-sa.out" || fail "token sa did not print the token"
mv "$CAP/token-sa.out" "$T/token-sa.out" # the one place a token must appear
cap check ot check
cap verify-sa ot verify sa
grep -q 'access token active' "$CAP/verify-sa.out" || fail "verify sa: $(cat "$CAP/verify-sa.out")"
cap verify-sa-rt ot verify sa --refresh-token

# 3. the daemon: sd fails once then recovers, sf is rejected with the echo (three hooks).
idp_rule "{\"family\":\"sd\",\"scenario\":\"unavailable\",\"params\":{\"seconds\":1}}"
sf_rt=$(tok sf refresh_token)
idp_rule "{\"family\":\"sf\",\"scenario\":\"invalid_grant\",\"params\":{\"description\":\"token $sf_rt of client test-client secret $CS rejected\"}}"
"$OAUTHTOP" --config "$T/cfg.json" daemon --log-format json --verbose \
	>"$CAP/daemon-json.out" 2>"$CAP/daemon-json.err" &
DPID=$!
OT_PIDS="$OT_PIDS $DPID"
i=0
while [ $i -lt 100 ]; do
	[ -s "$T/hooks/recovered-sd.env" ] && [ -s "$T/hooks/reauth-sf.env" ] &&
		[ -s "$T/hooks/failing-sd.env" ] && break
	sleep 0.1
	i=$((i + 1))
done
sleep 0.3
# Core dumps off and not dumpable, while it holds secrets.
grep -q '^Max core file size *0 *0 ' "/proc/$DPID/limits" ||
	fail "daemon core limit: $(grep 'core' "/proc/$DPID/limits")"
# A process that is not dumpable has its /proc files owned by root, not by its user.
if [ "$(id -u)" != 0 ]; then
	[ "$(stat -c %u "/proc/$DPID/status")" = 0 ] ||
		fail "daemon is dumpable (/proc/PID owned by $(stat -c %u "/proc/$DPID/status"))"
elif ! command -v setpriv >/dev/null 2>&1; then
	echo "note: running as root without setpriv: dumpable flag not checked"
elif ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$OAUTHTOP"; then
	echo "note: nobody cannot run $OAUTHTOP (a private checkout): dumpable flag not checked"
else
	# As root that shows nothing: run a second daemon as nobody, on its own files.
	NOB=$(mktemp -d "${TMPDIR:-/tmp}/oauthtop-e2e-nobody.XXXXXX") || fail "mktemp"
	trap 'ot_cleanup; rm -rf "$NOB"' EXIT
	printf '%s\n' "$CS" >"$NOB/secret"
	cat >"$NOB/cfg.json" <<JSON
{ "store": "$NOB/state/oauthtop.db",
  "providers": { "idp": { "token_url": "$IDP_URL/token", "client_id": "test-client",
                          "client_secret_file": "$NOB/secret" } },
  "accounts": [ { "name": "nob", "provider": "idp" } ] }
JSON
	chown -R 65534:65534 "$NOB"
	chmod 0700 "$NOB"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$OAUTHTOP" --config "$NOB/cfg.json" daemon >"$CAP/nobody.out" 2>"$CAP/nobody.err" &
	NPID=$!
	OT_PIDS="$OT_PIDS $NPID"
	sleep 0.5
	grep -q '^Uid:[[:space:]]*65534' "/proc/$NPID/status" ||
		fail "the nobody daemon is not running: $(cat "$CAP/nobody.err")"
	[ "$(stat -c %u "/proc/$NPID/status")" = 0 ] ||
		fail "daemon is dumpable (/proc/PID owned by $(stat -c %u "/proc/$NPID/status"))"
	grep -q '^Max core file size *0 *0 ' "/proc/$NPID/limits" || fail "nobody daemon core limit"
	echo "daemon as nobody: not dumpable, core limit 0"
	kill -TERM "$NPID"
	wait "$NPID"
fi
kill -TERM "$DPID"
wait "$DPID"
drc=$?
[ "$drc" = 0 ] || fail "daemon exited $drc on SIGTERM: $(tail -5 "$CAP/daemon-json.err")"
for h in failing-sd recovered-sd reauth-sf; do
	[ -s "$T/hooks/$h.env" ] || fail "hook $h did not run: $(cat "$CAP/daemon-json.err")"
done
collect
# The daemon in text format, a short run over the same store.
"$OAUTHTOP" --config "$T/cfg.json" daemon --verbose >"$CAP/daemon-text.out" 2>"$CAP/daemon-text.err" &
DPID=$!
OT_PIDS="$OT_PIDS $DPID"
sleep 1
kill -TERM "$DPID"
wait "$DPID"

# Hooks: a clean environment (no client secret from oauthtop's own environment).
for f in "$T"/hooks/*.env "$T"/hooks/*.parent-environ; do
	bad=$(cut -d= -f1 "$f" | grep -v '^\(PATH\|HOME\|LANG\|PWD\|SHLVL\|_\|OAUTHTOP_[A-Z_]*\)$' | tr '\n' ' ')
	[ -z "$bad" ] || fail "$(basename "$f"): unexpected variables: $bad"
done
grep -q '^OAUTHTOP_REASON=.*invalid_grant' "$T/hooks/reauth-sf.env" || fail "reauth hook reason"
cp "$T"/hooks/* "$CAP/"

# 4. the console: table, details of a refreshed account, a refresh, help.
cat >"$T/console.script" <<SCRIPT
:wait 300
:dump $CAP/console-table.txt
/sa
<Enter>
<Enter>
:dump $CAP/console-details.txt
<Esc>
<Esc>
/se
<Enter>
r
:wait-idle 5000
<Enter>
:dump $CAP/console-details-se.txt
<Esc>
?
:dump $CAP/console-help.txt
q
SCRIPT
env LANG=C.UTF-8 TERM=xterm-256color OAUTHTOP_SCRIPT="$T/console.script" \
	"$OAUTHTOP" --config "$T/cfg.json" >"$CAP/console.out" 2>"$CAP/console.err" ||
	fail "console exited $?: $(cat "$CAP/console.err")"
grep -q 'access token' "$CAP/console-details.txt" ||
	fail "console details not shown: $(cat "$CAP/console-details.txt")"
collect

# 5. revocation (sends both tokens and the client secret), then the store, apart from the token values themselves (table secrets since store schema 2,
# credentials before; every other table must hold none).
cap revoke-sa ot revoke sa
[ "$(cat "$T/rc")" = 0 ] || fail "revoke sa exited $(cat "$T/rc"): $(cat "$CAP/revoke-sa.err")"
tt=credentials
sqlite3 "$STORE" "SELECT name FROM sqlite_master WHERE name = 'secrets'" | grep -q . && tt=secrets
for t in $(sqlite3 "$STORE" "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> '$tt'"); do
	sqlite3 "$STORE" ".dump $t" >"$CAP/store-$t.sql"
done
[ -s "$CAP/store-events.sql" ] || fail "no events table dumped"
grep -q 'INSERT' "$CAP/store-events.sql" || fail "no history events"

# The verdict: neither a whole value nor the part a mask hides (all but 4 + 4 characters).
sort -u "$T/secrets" | grep -v '^$' >"$T/secrets.u"
while IFS= read -r s; do
	printf '%s\n' "$s"
	n=${#s}
	[ "$n" -ge 20 ] && printf '%s\n' "$s" | cut -c5-$((n - 4))
done <"$T/secrets.u" >"$T/patterns"
[ "$(wc -l <"$T/secrets.u")" -ge 20 ] || fail "too few secrets collected: $(wc -l <"$T/secrets.u")"
if grep -r -a -n -F -f "$T/patterns" "$CAP" >"$T/leaks"; then
	sed 's/^/  leak| /' "$T/leaks" | cut -c1-300 >&2
	fail "$(wc -l <"$T/leaks") lines hold a token or a secret"
fi
[ -n "${OT_KEEP:-}" ] && cp -r "$CAP" "$OT_KEEP"
echo "$(wc -l <"$T/secrets.u") secret values, $(find "$CAP" -type f | wc -l) captures, no leak"
echo "all passed"
