#!/bin/sh
# Bad input to every CLI command, as a new operator would type it (what test_cli_status.sh,
# test_token_cmd.sh and tests/unit/test_config.c do not already cover). The standard: bad
# input gets exit 3 (DESIGN §6) and exactly one clear line on stderr naming the file, account
# or field; nothing on stdout; the store is never changed or lost; no token or secret is
# printed. No token server is needed: nothing here may reach the network (the provider
# points at a closed loopback port and every account is fresh).
# The checks marked bug() were 15 failures when this test was written (a FIFO config or secret
# file hung; status --output could replace the store, the config or a secret file; a token in
# a config's JSON error; empty --config=/--store= ignored; argv echoed raw with control
# characters; a store directory writable by anyone; --min-valid ""/out of range; import from a
# directory; history --limit=; the skipped count for a disabled account), all fixed; they are
# collected and reported together at the end.
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034 # read by write_config (lib.sh)
IDP_URL="http://127.0.0.1:9"
write_config "a b off cc:client_credentials"
sed 's/{ "name": "off", "provider": "idp" }/{ "name": "off", "provider": "idp", "enabled": false }/' \
	"$T/cfg.json" >"$T/cfg2.json" && mv "$T/cfg2.json" "$T/cfg.json"
import_seed a 7200 RT-a-secret-value
import_seed b 7200
sqlite3 "$STORE" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
RT_A=$(db_rt a)
[ "$RT_A" = RT-a-secret-value ] || fail "seed: refresh token of a is $RT_A"

BUGS=""
bug() { BUGS="$BUGS
  - $*"; }

# one_line RC CMD...: exits RC, stdout empty, stderr exactly one non-empty line.
one_line() {
	expect_rc "$@"
	shift
	[ -s "$T/out" ] && fail "$*: stdout not empty: $(head -c 200 "$T/out")"
	[ "$(wc -l <"$T/err")" = 1 ] || fail "$*: stderr is not one line: $(cat "$T/err")"
	return 0
}
# err_has PATTERN WHAT: the last command's stderr matches PATTERN (grep -E).
err_has() { grep -Eq -- "$1" "$T/err" || fail "$2: message lacks /$1/: $(cat "$T/err")"; }
# store_same WHAT: a's refresh token is still the seeded one.
store_same() { [ "$(db_rt a)" = "$RT_A" ] || fail "$1: the stored refresh token of a changed"; }
# limited SECS CMD...: runs CMD with stdout/stderr in $T/out/$T/err, kills it after SECS;
# sets LRC (124 when killed).
limited() {
	_s=$1; shift
	"$@" >"$T/out" 2>"$T/err" &
	_p=$!
	_i=0
	while kill -0 "$_p" 2>/dev/null && [ "$_i" -lt $((_s * 10)) ]; do sleep 0.1; _i=$((_i + 1)); done
	if kill -0 "$_p" 2>/dev/null; then
		kill "$_p" 2>/dev/null; wait "$_p" 2>/dev/null; LRC=124
	else
		wait "$_p"; LRC=$?
	fi
}
# fifo_refused WHAT WHERE PATTERN CMD...: CMD reads a FIFO that has no writer. It must not
# hang (else a bug in WHERE) and must end with exit 3 and a message matching PATTERN.
fifo_refused() {
	_what=$1 _where=$2 _pat=$3
	shift 3
	limited 3 "$@"
	if [ "$LRC" = 124 ]; then
		bug "$_where: $_what: blocks forever in open() (want exit 3 'not a regular file')"
	else
		[ "$LRC" = 3 ] || fail "$_what: exit $LRC"
		err_has "$_pat" "$_what"
	fi
}

# ---- 1. the configuration file ----
mkdir "$T/cfgdir"
one_line 3 "$OAUTHTOP" --config "$T/cfgdir" status
err_has 'cfgdir.*not a regular file' "config is a directory"
mkfifo "$T/cfg.fifo"
fifo_refused "config is a FIFO" "config.c ot_config_load" 'cfg.fifo.*not a regular file' \
	"$OAUTHTOP" --config "$T/cfg.fifo" status
: >"$T/empty.json"
one_line 3 "$OAUTHTOP" --config "$T/empty.json" status
err_has 'empty.json: empty file' "empty config"
dd if=/dev/null of="$T/huge.json" bs=1 count=0 seek=52428800 2>/dev/null
one_line 3 "$OAUTHTOP" --config "$T/huge.json" status
err_has 'huge.json.*too large' "50 MB config"
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "["; for (i = 0; i < 20000; i++) printf "]"; print "" }' \
	>"$T/deep.json"
one_line 3 "$OAUTHTOP" --config "$T/deep.json" status
err_has 'deep.json: line 1' "deeply nested config"
(export OAUTHTOP_CONFIG="$T/nosuch.json"; one_line 3 "$OAUTHTOP" status) || exit 1
err_has 'nosuch.json.*OAUTHTOP_CONFIG' "missing \$OAUTHTOP_CONFIG"
one_line 3 "$OAUTHTOP" --config
err_has '--config needs a value' "--config without a value"
mkdir -p "$T/xdg/oauthtop" && cp "$T/cfg.json" "$T/xdg/oauthtop/config.json"
(unset OAUTHTOP_CONFIG; export XDG_CONFIG_HOME="$T/xdg"; expect_rc 0 "$OAUTHTOP" check) || exit 1
grep -q "$T/xdg/oauthtop/config.json" "$T/out" || fail "\$XDG_CONFIG_HOME/oauthtop/config.json not used"
# A file that is not a configuration at all (a saved token answer with a syntax error, given
# to --config by mistake): the "near" snippet must not show the token.
printf '{"access_token":"AT-leak-me" "refresh_token":"RT-leak-me"}\n' >"$T/answer.json"
one_line 3 "$OAUTHTOP" --config "$T/answer.json" status
err_has 'answer.json: line 1' "token file as config"
grep -q 'leak-me' "$T/err" &&
	bug "config.c cfg_near_secret: a JSON error near a token is shown: $(cat "$T/err")"

# ---- 2. client_secret_file ----
with_secret() { sed "s#\"$T/secret\"#\"$1\"#" "$T/cfg.json" >"$T/sec.json"; }
printf 'test-secret\r\n' >"$T/s_crlf"; chmod 600 "$T/s_crlf"
with_secret "$T/s_crlf"
expect_rc 0 "$OAUTHTOP" --config "$T/sec.json" check        # trailing newlines are stripped (oauthtop.1)
printf '\n' >"$T/s_nl"; chmod 600 "$T/s_nl"
with_secret "$T/s_nl"
one_line 3 "$OAUTHTOP" --config "$T/sec.json" check
err_has 'client_secret_file: .*s_nl is empty' "secret file with only a newline"
mkdir -m 700 "$T/s_dir"
with_secret "$T/s_dir"
one_line 3 "$OAUTHTOP" --config "$T/sec.json" check
err_has 'client_secret_file: .*s_dir' "secret file is a directory"
mkfifo -m 600 "$T/s_fifo"
with_secret "$T/s_fifo"
fifo_refused "secret file is a FIFO" "config.c cfg_secret_file" 'client_secret_file: .*s_fifo' \
	"$OAUTHTOP" --config "$T/sec.json" check
grep -q test-secret "$T/err" && fail "client secret printed"

# ---- 3. the store ----
cp "$STORE" "$T/store.orig"
mkdir -m 700 "$T/storedir"
one_line 3 ot --store "$T/storedir" status
err_has 'storedir: not a regular file' "store is a directory"
mkfifo -m 600 "$T/store.fifo"
limited 3 "$OAUTHTOP" --config "$T/cfg.json" --store "$T/store.fifo" status
[ "$LRC" = 3 ] || fail "store is a FIFO: exit $LRC"
ln -s "$STORE" "$T/link.db"
one_line 3 ot --store "$T/link.db" import a - </dev/null
err_has 'link.db: is a symbolic link' "store is a symlink"
for m in 640 602; do
	cp "$STORE" "$T/m$m.db"; chmod "$m" "$T/m$m.db"
	one_line 3 ot --store "$T/m$m.db" status
	err_has "m$m.db: permissions 0$m" "store mode $m"
done
# A truncated store: every command refuses it and leaves the bytes alone.
dd if="$STORE" of="$T/trunc.db" bs=4096 count=1 2>/dev/null
chmod 600 "$T/trunc.db"; cp "$T/trunc.db" "$T/trunc.orig"
for c in status check "history a" "token a" "refresh a" "import a -"; do
	# shellcheck disable=SC2086
	echo '{"access_token":"A9","token_type":"Bearer","refresh_token":"R9"}' |
		one_line 3 ot --store "$T/trunc.db" $c
	err_has 'trunc.db' "truncated store, $c"
	cmp -s "$T/trunc.db" "$T/trunc.orig" || fail "truncated store changed by $c"
	[ -e "$T/trunc.db-wal" ] && [ -s "$T/trunc.db-wal" ] && fail "truncated store got a WAL ($c)"
done
# A store in a directory anyone may write (not sticky): anyone can delete or swap it.
mkdir "$T/open"; chmod 777 "$T/open"; cp "$STORE" "$T/open/s.db"
ot --store "$T/open/s.db" status >"$T/out" 2>"$T/err"
grep -q "$T/open" "$T/err" ||
	bug "store_schema.c (store open): a store in a world-writable directory ($T/open, mode 0777) is used without a word (want refusal or a warning naming the directory, DESIGN §4 '0700 directory')"
# status --output must never replace the store, the configuration or a secret file.
cp "$STORE" "$T/victim.db"; cp "$STORE" "$T/victim.orig"
"$OAUTHTOP" --config "$T/cfg.json" --store "$T/victim.db" status --output "$T/victim.db" >"$T/out" 2>"$T/err"
_rc=$?
if ! cmp -s "$T/victim.db" "$T/victim.orig"; then
	bug "cmd_status.c emit_atomic: 'status --output STORE' renames the report over the credential store (exit $_rc): every credential lost"
elif [ "$_rc" != 3 ]; then
	bug "status --output STORE: exit $_rc, want 3"
fi
cp "$T/cfg.json" "$T/cfgv.json"
"$OAUTHTOP" --config "$T/cfgv.json" status --output "$T/cfgv.json" >/dev/null 2>&1
cmp -s "$T/cfgv.json" "$T/cfg.json" ||
	bug "cmd_status.c emit_atomic: 'status --output CONFIG' replaces the configuration file"
cmp -s "$STORE" "$T/store.orig" || fail "the real store changed during the store probes"

# ---- 4. import ----
for inp in '' '{' '[]' 'null' '{"access_token":"","token_type":"Bearer"}' \
	'{"access_token":"A\nB","token_type":"Bearer","refresh_token":"R-x"}' \
	'{"access_token":"A1","token_type":"Bearer","refresh_token":"R\u0000X"}' \
	'{"access_token":"A1","token_type":"Bearer","expires_in":"soon"}' \
	'{"access_token":123,"token_type":"Bearer"}'; do
	printf '%s' "$inp" | one_line 3 ot import a -
	err_has 'import: -: not a token answer' "import [$inp]"
	store_same "import [$inp]"
done
printf '{"error":"invalid_grant","error_description":"RT-a-secret-value is bad"}' |
	one_line 3 ot import a -
grep -q 'RT-a-secret' "$T/err" && fail "import printed the error_description (a token)"
store_same "import of an error answer"
one_line 3 ot import nosuch "$T/empty.json"
err_has 'unknown account "nosuch"' "import unknown account"
one_line 3 ot import a - extra
err_has 'unexpected argument "extra"' "import extra argument"
one_line 3 ot import a "$T/missing.json"
err_has 'missing.json' "import missing file"
one_line 3 ot import a "$T/cfgdir"
grep -qi 'directory' "$T/err" ||
	bug "cmd_import.c read_input: import from a directory says '$(cat "$T/err")' (read error ignored; want 'Is a directory')"
store_same "import from a directory"
# 1 MiB + 1 is refused; a token just under the limit round-trips exactly.
awk 'BEGIN { s = "AAAAAAAAAAAAAAAA"; while (length(s) < 1048576) s = s s; printf "{\"access_token\":\"%s\",\"token_type\":\"Bearer\"}", s }' \
	>"$T/big.json"
one_line 3 ot import a "$T/big.json"
err_has 'big.json: larger than 1 MiB' "import over 1 MiB"
store_same "import over 1 MiB"
awk 'BEGIN { s = "B"; while (length(s) < 1040000) s = s s; s = substr(s, 1, 1040000);
	printf "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":7200,\"refresh_token\":\"R-big\"}", s }' \
	>"$T/big2.json"
expect_rc 0 ot import b "$T/big2.json"
expect_rc 0 ot token b
[ "$(wc -c <"$T/out")" = 1040001 ] || fail "token b: $(wc -c <"$T/out") bytes, want 1040000 + newline"
grep -q 'R-big\|BBBBBBBB' "$T/err" && fail "a token on stderr"

# ---- 5. token ----
for mv in -1 abc 1e3 0x10 5s; do
	one_line 3 ot token a --min-valid "$mv"
	err_has "min-valid.*\"$mv\"" "token --min-valid $mv"
done
"$OAUTHTOP" --config "$T/cfg.json" token a --min-valid "" >"$T/out" 2>"$T/err"
_rc=$?
[ "$_rc" = 3 ] || bug "cli/lean.c ot_cmd_token_fast: 'token a --min-valid \"\"' on a fresh account prints the token, exit $_rc (the full binary refuses \"\": exit 3)"
one_line 3 ot token a off
one_line 3 ot token nosuch
err_has 'unknown account "nosuch" \(not in .*cfg.json\)' "token unknown account"
expect_rc 0 ot token a                                     # the store is still intact
[ "$(cat "$T/out")" = A1-a ] || fail "token a after the probes: $(cat "$T/out")"
# (while the bug stands this one tries a refresh: a closed port, refused at once)
"$OAUTHTOP" --config "$T/cfg.json" token a --min-valid 99999999999999999999 >"$T/out" 2>"$T/err"
_rc=$?
[ "$_rc" = 3 ] ||
	bug "cmd_token.c parse_min_valid: --min-valid 99999999999999999999 (out of range) is taken as 9223372036854775807, exit $_rc (want exit 3 naming the value)"

# ---- 6. refresh (all refused before any request) ----
for c in 0 -1 abc 100001 "" 1.5; do
	one_line 3 ot refresh --concurrency "$c" a
	err_has 'concurrency wants a number from 1 to 100000' "refresh --concurrency [$c]"
done
one_line 3 ot refresh a nosuch
err_has 'unknown account "nosuch"' "refresh unknown account"
one_line 3 ot refresh --force=yes a
one_line 3 ot refresh --bogus
err_has 'unknown option --bogus' "refresh --bogus"
store_same "refresh probes"

# ---- 7. history, status, check, daemon, unknown commands ----
for a in "--limit -1" "--limit abc" "--format xml"; do
	# shellcheck disable=SC2086
	one_line 3 ot history a $a
	case $a in --limit*) err_has 'history: --limit' "history $a" ;; *) err_has 'history: unknown format "xml"' "history $a" ;; esac
done
"$OAUTHTOP" --config "$T/cfg.json" history a --limit= >"$T/out" 2>"$T/err"
_rc=$?
[ "$_rc" = 3 ] || bug "cmd_history.c ot_cmd_history: 'history a --limit=' (empty) is taken as 0 = all, exit $_rc (want exit 3)"
one_line 3 ot status --format=
one_line 3 ot status --output "$T/cfgdir"
err_has 'cannot write .*cfgdir' "status --output a directory"
one_line 3 ot status --output "$T/no/such/dir/x.prom"
one_line 3 ot status extra
one_line 3 ot check extra
one_line 3 ot daemon --log-format xml
one_line 3 ot frobnicate
err_has 'unknown command "frobnicate"' "unknown command"
one_line 3 ot --bogus
# An empty --config/--store (an unset variable in a script) must not silently mean "the
# default": the command would read or write another store than the operator named.
(export OAUTHTOP_CONFIG="$T/cfg.json"; "$OAUTHTOP" --config= check >"$T/out" 2>"$T/err"; echo $? >"$T/rc")
[ "$(cat "$T/rc")" = 3 ] ||
	bug "config.c ot_config_locate: '--config=' (empty) is ignored, the default search runs (exit $(cat "$T/rc"), used $(sed -n 's/^configuration \([^:]*\):.*/\1/p' "$T/out"))"
"$OAUTHTOP" --config "$T/cfg.json" --store= check >"$T/out" 2>"$T/err"
_rc=$?
[ "$_rc" = 3 ] ||
	bug "config.c ot_config_set_store_path: '--store=' (empty) is ignored and the configuration's store is used (exit $_rc)"
# refresh of a disabled account: its line says skipped, so the summary counts it.
expect_rc 0 ot refresh off
grep -q '^off: skipped: disabled' "$T/out" || fail "refresh off: $(cat "$T/out")"
grep -q ' 1 skipped' "$T/out" ||
	bug "cmd_refresh.c refresh_submit: 'refresh off' prints 'off: skipped: disabled' but the summary says '$(grep -o '[0-9]* skipped$' "$T/out")'"
# Control characters in an argument must not split the one-line message or reach the
# terminal raw (an account name from a script's variable).
nl='x
Y'
esc=$(printf 'x\033[2Jy')
for c in token history import revoke verify authorize refresh; do
	"$OAUTHTOP" --config "$T/cfg.json" "$c" "$nl" >"$T/out" 2>"$T/err" </dev/null
	_rc=$?
	[ "$_rc" = 3 ] || fail "$c with a newline in the account name: exit $_rc"
	if [ "$(wc -l <"$T/err")" != 1 ]; then
		bug "cli.c ot_cli_account: '$c <name with a newline>': the error is $(wc -l <"$T/err") lines (argv echoed raw)"
		break
	fi
done
"$OAUTHTOP" --config "$T/cfg.json" token "$esc" >/dev/null 2>"$T/err"
grep -q "$(printf '\033')" "$T/err" &&
	bug "cli.c ot_cli_account / main.c dispatch / ot_cli_parse: an ESC from argv is written raw to stderr (terminal escape injection)"

# ---- 8. --help and -h for every command: exit 0, usage on stdout, nothing on stderr ----
for c in tui status refresh daemon token import authorize revoke verify history check; do
	for h in --help -h; do
		expect_rc 0 "$OAUTHTOP" --config "$T/nosuch.json" "$c" "$h"
		head -n 1 "$T/out" | grep -q "^usage: oauthtop $c\|^usage: oauthtop" || fail "$c $h: no usage on stdout"
		[ -s "$T/err" ] && fail "$c $h: stderr: $(cat "$T/err")"
	done
done
expect_rc 0 "$OAUTHTOP" --help
grep -q '^exit codes' "$T/out" || fail "--help lists the exit codes"

store_same "the end"

if [ -n "$BUGS" ]; then
	echo "known bugs still present:$BUGS" >&2
	exit 1
fi
echo "all passed"
