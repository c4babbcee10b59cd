# lib.sh - shared helpers for the end-to-end tests (POSIX sh). Source it first:
#     . "$(dirname "$0")/lib.sh"
# It skips the test (exit 77) when OAUTHTOP, OT_IDP, jq, curl or sqlite3 are missing, makes
# the test's own temp dir $T, and at exit stops every token server it started and removes $T.
#
#   idp_start [ARGS...]        start oauthtop-idp on a free port (sets IDP_URL, IDP_ADMIN, IDP_PID)
#   idp_start_tls [ARGS...]    same over HTTPS with a fresh test CA (also sets IDP_CA)
#   idp_admin METHOD PATH [JSON]   call the admin API; idp_rule JSON; idp_config JSON
#   idp_family NAME | idp_rt NAME | idp_stat KEY   read the server's truth
#   write_config "a b c:client_credentials" [PROVIDER_MEMBERS] [TOP_MEMBERS]
#   ot ARGS...                 oauthtop with the test configuration
#   expect_rc WANT CMD...      run CMD (stdout $T/out, stderr $T/err), fail unless it exits WANT
#   import_seed NAME [EXPIRES_IN [REFRESH_TOKEN]]   store a credential (refresh token seed-NAME)
#   status_json; st_state NAME; st_field NAME FIELD  (oauthtop status --format json)
#   db_col NAME COLUMN; db_rt NAME; ev_kinds NAME; ev_last NAME   (the store, via sqlite3)
#   fail MSG; wait_file FILE [TENTHS]
set -u

OT_E2E_DIR=$(cd "$(dirname "$0")" && pwd)
OT_IDP_DIR=$(cd "$OT_E2E_DIR/../idp" 2>/dev/null && pwd)

ot_skip() { echo "skip: $*"; exit 77; }
[ -n "${OAUTHTOP:-}" ] && [ -x "$OAUTHTOP" ] || ot_skip "OAUTHTOP is not an executable"
[ -n "${OT_IDP:-}" ] && [ -x "$OT_IDP" ] || ot_skip "OT_IDP is not an executable"
for _tool in jq curl sqlite3; do
	command -v "$_tool" >/dev/null 2>&1 || ot_skip "$_tool not installed"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/oauthtop-e2e.XXXXXX") || exit 1
OT_PIDS=""
ot_cleanup() {
	for _p in $OT_PIDS; do kill "$_p" 2>/dev/null; done
	for _p in $OT_PIDS; do wait "$_p" 2>/dev/null; done
	rm -rf "$T"
}
trap ot_cleanup EXIT
trap 'exit 130' INT TERM
STORE="$T/state/oauthtop.db"

fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_file FILE [TENTHS]: waits until FILE is non-empty (default 10 s).
wait_file() {
	_i=0
	while [ ! -s "$1" ]; do
		_i=$((_i + 1))
		[ "$_i" -gt "${2:-100}" ] && return 1
		sleep 0.1
	done
	return 0
}

# idp_start [ARGS...]: one token server per call; the last one started is IDP_*.
idp_start() {
	_n=$(( ${_idp_n:-0} + 1 )); _idp_n=$_n
	rm -f "$T/idp$_n.port" "$T/idp$_n.aport"
	"$OT_IDP" --port 0 --port-file "$T/idp$_n.port" --admin-port-file "$T/idp$_n.aport" \
		--quiet "$@" 2>"$T/idp$_n.stderr" &
	IDP_PID=$!
	OT_PIDS="$OT_PIDS $IDP_PID"
	wait_file "$T/idp$_n.port" && wait_file "$T/idp$_n.aport" || {
		cat "$T/idp$_n.stderr" >&2; fail "oauthtop-idp did not start"; }
	IDP_PORT=$(cat "$T/idp$_n.port")
	IDP_APORT=$(cat "$T/idp$_n.aport")
	IDP_URL="http://127.0.0.1:$IDP_PORT"
	IDP_ADMIN="http://127.0.0.1:$IDP_APORT"
}

# idp_start_tls [ARGS...]: HTTPS with a certificate signed by a fresh CA ($IDP_CA).
idp_start_tls() {
	[ -d "$T/certs" ] || sh "$OT_IDP_DIR/mkcerts.sh" "$T/certs" || fail "mkcerts.sh failed"
	IDP_CA="$T/certs/ca.pem"
	idp_start --tls-cert "$T/certs/server.pem" --tls-key "$T/certs/server.key" "$@"
	IDP_URL="https://127.0.0.1:$IDP_PORT"
}

idp_stop() {
	kill "$IDP_PID" 2>/dev/null
	wait "$IDP_PID" 2>/dev/null
}

# idp_admin METHOD PATH [JSON]
idp_admin() {
	if [ $# -ge 3 ]; then
		curl -sS --fail-with-body -X "$1" -H 'Content-Type: application/json' \
			--data-binary "$3" "$IDP_ADMIN$2"
	else
		curl -sS --fail-with-body -X "$1" "$IDP_ADMIN$2"
	fi
}
idp_rule() { idp_admin POST /admin/rules "$1" >/dev/null || fail "idp rule $1"; }
idp_config() { idp_admin POST /admin/config "$1" >/dev/null || fail "idp config $1"; }
idp_family() { idp_admin GET "/admin/family/$1"; }
idp_rt() { idp_family "$1" | jq -r .current_refresh_token; }
idp_stat() { idp_admin GET /admin/stats | jq -r ".$1"; }

# write_config "NAME[:GRANT] ..." [PROVIDER_MEMBERS] [TOP_MEMBERS]: provider "idp" at
# $IDP_URL (client test-client / test-secret in a 0600 file), store in $T/state. The member
# arguments are JSON members each followed by a comma, e.g. '"min_interval": 0,'.
write_config() {
	umask 077
	printf 'test-secret' >"$T/secret"
	_accts=""
	for _a in $1; do
		_name=${_a%%:*}
		_grant=""
		[ "$_name" != "$_a" ] && _grant=", \"grant\": \"${_a#*:}\""
		_accts="$_accts${_accts:+, }{ \"name\": \"$_name\", \"provider\": \"idp\"$_grant }"
	done
	cat >"$T/cfg.json" <<JSON
{ ${3:-} "store": "$STORE",
  "providers": { "idp": { ${2:-} "token_url": "$IDP_URL/token", "client_id": "test-client",
                          "client_secret_file": "$T/secret" } },
  "accounts": [ $_accts ] }
JSON
}

ot() { "$OAUTHTOP" --config "$T/cfg.json" "$@"; }

# expect_rc WANT CMD...: stdout in $T/out, stderr in $T/err.
expect_rc() {
	_want=$1; shift
	"$@" >"$T/out" 2>"$T/err"
	_rc=$?
	[ "$_rc" = "$_want" ] || {
		sed 's/^/  out| /' "$T/out" >&2; sed 's/^/  err| /' "$T/err" >&2
		fail "$* exited $_rc, want $_want"
	}
}

# import_seed NAME [EXPIRES_IN [REFRESH_TOKEN]]: an access token A1-NAME (default expires
# in 60 s, so the account is due) and the refresh token seed-NAME (a new idp family).
import_seed() {
	printf '{"access_token":"A1-%s","token_type":"Bearer","expires_in":%s,"refresh_token":"%s"}' \
		"$1" "${2:-60}" "${3:-seed-$1}" | ot import "$1" - >/dev/null 2>"$T/import.err" ||
		{ cat "$T/import.err" >&2; fail "import $1"; }
}

status_json() { ot status --format json >"$T/status.json" 2>"$T/status.err"; return 0; }
st_state() { jq -r --arg n "$1" '.accounts[] | select(.name==$n) | .state' "$T/status.json"; }
st_field() { jq -r --arg n "$1" ".accounts[] | select(.name==\$n) | .$2" "$T/status.json"; }

db_col() { sqlite3 "$STORE" "SELECT $2 FROM credentials LEFT JOIN secrets USING (account) WHERE account = '$1'"; }
db_rt() { db_col "$1" refresh_token; }
ev_kinds() { sqlite3 "$STORE" "SELECT kind FROM events WHERE account = '$1' ORDER BY id" | tr '\n' ' '; }
ev_last() { sqlite3 "$STORE" "SELECT kind || '|' || coalesce(reason, '') FROM events WHERE account = '$1' ORDER BY id DESC LIMIT 1"; }
