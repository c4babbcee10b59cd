#!/bin/sh
# run.sh - interop suite: oauthtop against oidc-provider 9 (npm, pinned in package.json and
# package-lock.json), which this script starts on 127.0.0.1 and stops again.
#
#   OAUTHTOP=/abs/path/oauthtop sh tests/interop/run.sh
#
# Needs node (20 works, with oidc-provider's "unsupported runtime" warning), curl, jq,
# sqlite3. Installs node_modules with `npm ci` when missing. Exit 0 all passed, 1 a check
# failed, 77 skipped (node or npm unavailable; under CI=true that is a failure instead).
set -u
HERE=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
. "$HERE/user.sh"

PASS=0 FAIL=0 SKIP=0 N=0
LAST_LOG=""

say_skip() {
	echo "interop: $*"
	[ "${CI:-}" = true ] && exit 1
	exit 77
}

ok() {
	PASS=$((PASS + 1))
	echo "ok   - $*"
}

bad() {
	FAIL=$((FAIL + 1))
	echo "FAIL - $*"
	if [ -n "$LAST_LOG" ] && [ -s "$LAST_LOG" ]; then
		sed 's/^/     | /' "$LAST_LOG" | head -n 25
	fi
}

skip() {
	SKIP=$((SKIP + 1))
	echo "skip - $*"
}

# newlog: a fresh log file for the next check, in LAST_LOG.
newlog() {
	N=$((N + 1))
	LAST_LOG=$T/log.$N
	: >"$LAST_LOG"
}

# expect_rc WANT NAME CMD...: the check passes when CMD exits WANT.
expect_rc() {
	_want=$1 _name=$2
	shift 2
	newlog
	"$@" >"$LAST_LOG" 2>&1
	_rc=$?
	if [ "$_rc" -eq "$_want" ]; then
		ok "$_name"
	else
		echo "exit $_rc, expected $_want" >>"$LAST_LOG"
		bad "$_name"
	fi
}

# check NAME CONDITION-CMD...: passes when the command succeeds; output goes to LAST_LOG
# (which the caller may have filled before).
check() {
	_name=$1
	shift
	if "$@" >>"$LAST_LOG" 2>&1; then ok "$_name"; else bad "$_name"; fi
}

ot() {
	"$OAUTHTOP" --config "$T/config.json" "$@"
}

# --- preflight ------------------------------------------------------------------------------

[ -n "${OAUTHTOP:-}" ] && [ -x "$OAUTHTOP" ] || {
	echo "interop: set OAUTHTOP to the oauthtop binary" >&2
	exit 1
}
for tool in curl jq sqlite3; do
	command -v "$tool" >/dev/null 2>&1 || say_skip "$tool is not installed"
done
command -v node >/dev/null 2>&1 || say_skip "node is not installed (apt-get install nodejs npm)"
if [ ! -f "$HERE/node_modules/oidc-provider/package.json" ]; then
	command -v npm >/dev/null 2>&1 || say_skip "npm is not installed"
	(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
		say_skip "npm ci failed in tests/interop"
fi

umask 077
T=$(mktemp -d "${TMPDIR:-/tmp}/oauthtop-interop.XXXXXX")
SRV=""
BG=""
cleanup() {
	[ -n "$BG" ] && kill "$BG" 2>/dev/null
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the server -----------------------------------------------------------------------------

node "$HERE/server.mjs" --port-file "$T/port" --access-ttl 60 --interval 1 \
	>"$T/server.log" 2>&1 &
SRV=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 200 ] && kill -0 "$SRV" 2>/dev/null; do
	sleep 0.05
	i=$((i + 1))
done
if [ ! -s "$T/port" ]; then
	cat "$T/server.log" >&2
	echo "interop: oidc-provider did not start" >&2
	exit 1
fi
PORT=$(cat "$T/port")
B=http://127.0.0.1:$PORT
echo "interop: oidc-provider $(jq -r .version "$HERE/node_modules/oidc-provider/package.json") on $B (node $(node --version))"

printf '%s' 'interop-secret+/=%' >"$T/cli.secret"
printf '%s' 'post-secret' >"$T/post.secret"
STORE=$T/store/oauthtop.db
cat >"$T/config.json" <<EOF
{
  "store": "$STORE",
  "min_interval": 0,
  "timeouts": {"connect": 5, "total": 15},
  "providers": {
    "op": {
      "token_url": "$B/token",
      "device_authorization_url": "$B/device/auth",
      "authorization_url": "$B/auth",
      "revocation_url": "$B/token/revocation",
      "introspection_url": "$B/token/introspection",
      "client_id": "oauthtop-cli",
      "client_secret_file": "$T/cli.secret",
      "scope": "openid offline_access"
    },
    "op-public": {
      "token_url": "$B/token",
      "authorization_url": "$B/auth",
      "revocation_url": "$B/token/revocation",
      "client_id": "oauthtop-public",
      "auth_method": "none",
      "scope": "openid offline_access profile"
    },
    "op-nort": {
      "token_url": "$B/token",
      "device_authorization_url": "$B/device/auth",
      "client_id": "oauthtop-nort",
      "auth_method": "none",
      "scope": "openid offline_access"
    },
    "op-cc": {
      "token_url": "$B/token",
      "introspection_url": "$B/token/introspection",
      "revocation_url": "$B/token/revocation",
      "client_id": "oauthtop-post",
      "client_secret_file": "$T/post.secret",
      "auth_method": "client_secret_post",
      "scope": "api:read"
    },
    "op-discovered": {
      "issuer": "$B",
      "client_id": "oauthtop-cli",
      "client_secret_file": "$T/cli.secret",
      "scope": "openid offline_access"
    },
    "op-wrong-issuer": {
      "issuer": "http://localhost:$PORT",
      "client_id": "oauthtop-cli",
      "client_secret_file": "$T/cli.secret"
    }
  },
  "accounts": [
    {"name": "dev", "provider": "op"},
    {"name": "denied", "provider": "op"},
    {"name": "reuse", "provider": "op"},
    {"name": "web", "provider": "op-public", "endpoint": "$B/me"},
    {"name": "nort", "provider": "op-nort"},
    {"name": "cc", "provider": "op-cc", "grant": "client_credentials"},
    {"name": "disc", "provider": "op-discovered"},
    {"name": "wrong", "provider": "op-wrong-issuer"}
  ]
}
EOF

# --- helpers --------------------------------------------------------------------------------

# authorize ACCOUNT FLOW [abort]: runs `oauthtop authorize` in the background, plays the user
# through the forms (FLOW device: the verification_uri_complete; code: the authorization URL),
# and returns oauthtop's exit status. Output in LAST_LOG.
authorize() {
	_acct=$1 _flow=$2 _mode=${3:-}
	newlog
	ot authorize "$_acct" "--$_flow" --no-browser --no-qr --timeout 60 >"$LAST_LOG" 2>&1 &
	BG=$!
	_url="" _i=0
	while [ -z "$_url" ] && [ $_i -lt 100 ] && kill -0 "$BG" 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
		if [ "$_flow" = device ]; then
			_url=$(sed -n 's/^ *\(http:[^ ]*user_code=[^ ]*\) *$/\1/p' "$LAST_LOG")
		else
			_url=$(sed -n 's/^ *\(http:[^ ]*\/auth?[^ ]*\) *$/\1/p' "$LAST_LOG")
		fi
	done
	if [ -n "$_url" ]; then
		mkdir -p "$T/ui.$N"
		ui_authorize "$_url" "$B" "$T/ui.$N" "$_mode" || echo "(user side failed)" >>"$LAST_LOG"
	fi
	_i=0
	while kill -0 "$BG" 2>/dev/null && [ $_i -lt 300 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill "$BG" 2>/dev/null
	wait "$BG"
	_rc=$?
	BG=""
	return $_rc
}

# state ACCOUNT [STORE]: the account's state in `status --format json`.
state() {
	"$OAUTHTOP" --config "$T/config.json" --store "${2:-$STORE}" status --format json |
		jq -r --arg n "$1" '.accounts[] | select(.name == $n) | .state'
}

last_error() {
	"$OAUTHTOP" --config "$T/config.json" --store "${2:-$STORE}" status --format json |
		jq -r --arg n "$1" '.accounts[] | select(.name == $n) | .last_error // ""'
}

# backup DIR: a consistent copy of the store (0600 in a 0700 dir) = a restored old store.
backup() {
	mkdir -p "$1"
	sqlite3 "$STORE" ".backup '$1/oauthtop.db'"
}

# --- device flow, tokens, rotation ------------------------------------------------------------

newlog
if authorize dev device; then ok "device flow: authorize dev"; else bad "device flow: authorize dev"; fi
newlog
check "dev is alive after the device flow (state due or ok)" \
	sh -c "s=\$('$OAUTHTOP' --config '$T/config.json' status --format json | jq -r '.accounts[]|select(.name==\"dev\")|.state'); echo \"state \$s\"; [ \"\$s\" = due ] || [ \"\$s\" = ok ]"

# The token travels in a header read from standard input: never in argv.
newlog
token_header() {
	printf 'Authorization: Bearer %s\n' "$(ot token "$1")"
}
userinfo_ok() {
	_code=$(token_header "$1" | curl -s -m 10 -o "$T/me.json" -w '%{http_code}' -H @- "$B/me")
	echo "userinfo: HTTP $_code, sub $(jq -r .sub "$T/me.json" 2>/dev/null)"
	[ "$_code" = 200 ] && [ "$(jq -r .sub "$T/me.json")" = interop-user ]
}
check "userinfo accepts the access token from oauthtop token dev" userinfo_ok dev

newlog
refreshed_count() {
	ot history dev --format json | jq '[.[] | select(.kind == "refreshed")] | length'
}
rotations_ok() {
	# `oauthtop token` may already have refreshed (the access token lives 60 s, the window
	# is 300 s): count from here.
	before=$(refreshed_count)
	for i in 1 2 3 4; do
		ot refresh dev || return 1
	done
	ot history dev --format json >"$T/hist.json" || return 1
	jq -r '[.[] | select(.kind == "refreshed")] | reverse | .[] | "\(.old_fp) \(.new_fp)"' \
		"$T/hist.json" >"$T/chain"
	cat "$T/chain"
	[ "$(wc -l <"$T/chain")" -eq $((before + 4)) ] || return 1
	# every refresh rotated, and each spent the token the previous one stored
	prev=$(jq -r '[.[] | select(.kind == "authorized")][0].new_fp' "$T/hist.json")
	while read -r old new; do
		[ "$old" = "$prev" ] && [ "$new" != "$old" ] && [ -n "$new" ] || return 1
		prev=$new
	done <"$T/chain"
}
check "refresh keeps dev alive over 4 rotations (each spends the last stored token)" rotations_ok
newlog
check "userinfo accepts the access token after the rotations" userinfo_ok dev
expect_rc 0 "verify dev: introspection says active" ot verify dev
expect_rc 0 "verify dev --refresh-token: the refresh token is active" ot verify dev --refresh-token

# --- code + PKCE on the loopback redirect -----------------------------------------------------

newlog
if authorize web code; then ok "code + PKCE: authorize web (public client)"; else bad "code + PKCE: authorize web (public client)"; fi
expect_rc 0 "verify web: one GET to its endpoint (userinfo) accepts the token" ot verify web
expect_rc 0 "refresh web (public client, rotating)" ot refresh web --force

# --- an answer without a refresh token is stored and flagged ---------------------------------

newlog
if authorize nort device; then ok "device flow: authorize nort (client without refresh tokens)"; else bad "device flow: authorize nort (client without refresh tokens)"; fi
newlog
nort_flagged() {
	grep "no refresh token" "$LAST_LOG.prev" || return 1
	ot history nort --format json | jq -r '.[0].reason' | tee /dev/stderr |
		grep -q "without a refresh token" || return 1
	s=$(state nort)
	echo "state $s, reason $(last_error nort)"
	# the access token lives 60 s, inside the 300 s window, and nothing can renew it
	[ "$s" = reauth ]
}
cp "$T/log.$((N - 1))" "$LAST_LOG.prev"
check "no refresh token: stored, warned, flagged in history, reauth at expiry" nort_flagged

# --- denied -----------------------------------------------------------------------------------

newlog
authorize denied device abort
rc=$?
if [ $rc -eq 2 ] && grep -q "access denied" "$LAST_LOG"; then
	ok "device flow denied by the user: exit 2 and says access denied"
else
	echo "exit $rc" >>"$LAST_LOG"
	bad "device flow denied by the user: exit 2 and says access denied"
fi
newlog
check "nothing stored for the denied account" \
	sh -c "[ \"\$('$OAUTHTOP' --config '$T/config.json' history denied --format json | jq length)\" = 0 ]"

# --- reuse of a rotated-out refresh token -----------------------------------------------------

newlog
if authorize reuse device; then ok "device flow: authorize reuse"; else bad "device flow: authorize reuse"; fi
backup "$T/old"
expect_rc 0 "refresh reuse (rotates; the copy of the store keeps the old token)" ot refresh reuse --force
expect_rc 2 "the old store sends the rotated-out token: reauth (exit 2)" \
	"$OAUTHTOP" --config "$T/config.json" --store "$T/old/oauthtop.db" refresh reuse --force
newlog
reuse_reason() {
	e=$(last_error reuse "$T/old/oauthtop.db")
	echo "old store: state $(state reuse "$T/old/oauthtop.db"), last_error: $e"
	[ "$(state reuse "$T/old/oauthtop.db")" = reauth ] &&
		echo "$e" | grep -q "invalid_grant" && echo "$e" | grep -q "refresh token already used"
}
check "the old store shows reauth with the server's reason (refresh token already used)" reuse_reason
expect_rc 2 "reuse detection revoked the grant: the current token is refused too" \
	ot refresh reuse --force
newlog
check "reuse shows reauth in the live store" sh -c "[ \"\$('$OAUTHTOP' --config '$T/config.json' status --format json | jq -r '.accounts[]|select(.name==\"reuse\")|.state')\" = reauth ]"

# --- revocation -------------------------------------------------------------------------------

backup "$T/before-revoke"
expect_rc 0 "revoke dev (RFC 7009)" ot revoke dev
newlog
check "dev shows reauth after revoke" sh -c "[ \"\$('$OAUTHTOP' --config '$T/config.json' status --format json | jq -r '.accounts[]|select(.name==\"dev\")|.state')\" = reauth ]"
expect_rc 1 "introspection: the revoked refresh token is no longer active" \
	"$OAUTHTOP" --config "$T/config.json" --store "$T/before-revoke/oauthtop.db" verify dev --refresh-token
expect_rc 2 "the server refuses the revoked refresh token (invalid_grant)" \
	"$OAUTHTOP" --config "$T/config.json" --store "$T/before-revoke/oauthtop.db" refresh dev --force

# --- client credentials -----------------------------------------------------------------------

expect_rc 0 "client_credentials: refresh cc (client_secret_post)" ot refresh cc
newlog
check "client_credentials: oauthtop token cc prints a token" sh -c "[ -n \"\$('$OAUTHTOP' --config '$T/config.json' token cc)\" ]"
expect_rc 0 "client_credentials: verify cc (introspection: active)" ot verify cc
expect_rc 0 "client_credentials: revoke cc" ot revoke cc
expect_rc 0 "client_credentials: a new token after revoke" ot refresh cc

# --- discovery --------------------------------------------------------------------------------

newlog
if authorize disc device; then ok "discovery: authorize disc with only an issuer configured"; else bad "discovery: authorize disc with only an issuer configured"; fi
newlog
check "discovery: the metadata is cached in the store" \
	sh -c "[ \"\$(sqlite3 '$STORE' \"select count(*) from meta where key = 'discovery:$B'\")\" = 1 ]"
expect_rc 0 "discovery: verify disc uses the discovered introspection endpoint" ot verify disc
newlog
ot refresh disc --force >"$LAST_LOG" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	ok "discovery: refresh disc uses the discovered token endpoint"
elif grep -q "discovery has not run" "$LAST_LOG"; then
	skip "discovery: refresh disc (the refresh command does not run discovery yet)"
else
	bad "discovery: refresh disc uses the discovered token endpoint"
fi
newlog
ot authorize wrong --device --no-qr >"$LAST_LOG" 2>&1
rc=$?
if [ $rc -eq 3 ] && grep -q "issuer mismatch" "$LAST_LOG"; then
	ok "discovery: a document for another issuer is refused (exit 3, issuer mismatch)"
else
	echo "exit $rc" >>"$LAST_LOG"
	bad "discovery: a document for another issuer is refused (exit 3, issuer mismatch)"
fi

# --- summary ----------------------------------------------------------------------------------

LAST_LOG=""
if [ $FAIL -ne 0 ]; then
	echo "--- server log (last lines)"
	tail -n 20 "$T/server.log"
fi
echo "interop: $PASS passed, $FAIL failed, $SKIP skipped"
[ $FAIL -eq 0 ]
