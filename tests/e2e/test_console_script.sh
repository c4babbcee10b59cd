#!/bin/sh
# The console in script mode (OAUTHTOP_SCRIPT, screens dumped as text, no terminal needed):
# details with masked tokens and history, help generated from the key table, filter, sort,
# click, resize, themes (cycling, a bad theme file named with its line, an unknown theme),
# the refusals (no terminal, a terminal without cursor addressing, a bad script), and a keeper
# daemon in the header.
. "$(dirname "$0")/lib.sh"

idp_start
write_config "alpha beta gamma-due utf"
AT="eyJhbGciOiJSUzI1NiJ9.payload-of-alpha.sig9Qk"
RT="rt-alpha-very-secret-refresh-token-x7Pq"
printf '{"access_token":"%s","token_type":"Bearer","expires_in":3600,"refresh_token":"%s","refresh_expires_in":86400}' \
	"$AT" "$RT" | ot import alpha - >/dev/null || fail "import alpha"
import_seed beta 3000
import_seed gamma-due 100
import_seed utf 3500

# run_script NAME [ENV...]: runs the console on $T/NAME.script, headless; rc in $T/rc.
run_script() {
	_s=$1; shift
	env LANG=C.UTF-8 TERM=xterm-256color OAUTHTOP_SCRIPT="$T/$_s.script" "$@" \
		"$OAUTHTOP" --config "$T/cfg.json" >/dev/null 2>"$T/$_s.err"
	echo $? >"$T/rc"
}
rc() { cat "$T/rc"; }

# 1. table, details (masked tokens, exact expiries, history), help.
cat >"$T/main.script" <<EOF
:wait 200
:dump $T/table.txt
/alpha
<Enter>
<Enter>
:dump $T/details.txt
<Esc>
<Esc>
?
:dump $T/help.txt
q
s
:dump $T/sorted.txt
:click 2 5
:dump $T/clicked.txt
:resize 80 24
:dump $T/small.txt
EOF
run_script main
[ "$(rc)" = 0 ] || { cat "$T/main.err"; fail "script run exited $(rc)"; }
grep -q '^>gamma-due .*DUE' "$T/table.txt" || fail "table: $(cat "$T/table.txt")"
grep -q ' alpha .*OK' "$T/table.txt" || fail "alpha not ok in the table"
grep -q 'ok 3 .*due 1' "$T/table.txt" || fail "header counts: $(sed -n 2p "$T/table.txt")"
grep -q 'no keeper' "$T/table.txt" || fail "keeper status missing from the header"
grep -q 'window 300s' "$T/table.txt" || fail "window missing from the header"
grep -q '^ alpha ' "$T/details.txt" || fail "details title: $(head -1 "$T/details.txt")"
grep -q "token URL *$IDP_URL/token" "$T/details.txt" || fail "details: token URL"
grep -q 'access token *eyJh…9Qk' "$T/details.txt" || fail "details: masked access token: $(grep 'access token' "$T/details.txt")"
grep -q 'refresh token *\*\*\*\*…x7Pq' "$T/details.txt" || fail "details: masked refresh token"
grep -q 'UTC' "$T/details.txt" || fail "details: exact expiry times"
grep -q "declared" "$T/details.txt" || { cat "$T/details.txt"; fail "details: refresh expiry origin"; }
grep -q 'imported' "$T/details.txt" || fail "details: history"
for f in table details help sorted clicked small; do
	grep -q -e "$AT" -e "$RT" -e "payload-of-alpha" -e "very-secret" "$T/$f.txt" &&
		fail "a token value on the $f screen"
done
for k in 'r ' 'R ' 'Enter' '/ ' 's ' 't ' '? ' 'q ' 'PgDn' 'Home' 'End'; do
	grep -q "^  $k" "$T/help.txt" || fail "help does not list key '$k'"
done
grep -q '^ ACCOUNT▾' "$T/sorted.txt" || fail "s: sort by account: $(sed -n 3p "$T/sorted.txt")"
sed -n 4,7p "$T/sorted.txt" | awk '{ print $1 }' | tr -d '>' | tr '\n' ' ' | grep -q '^alpha beta gamma-due utf $' ||
	fail "sorted by name: $(sed -n 4,7p "$T/sorted.txt")"
sed -n 6p "$T/clicked.txt" | grep -q '^>gamma-due' || fail "click on line 5 did not select: $(sed -n 4,6p "$T/clicked.txt")"
w=$(LC_ALL=C.UTF-8 wc -L <"$T/small.txt")
[ "$w" -le 80 ] && [ "$(wc -l <"$T/small.txt")" -eq 24 ] || fail "resize 80x24: $w columns"
grep -q ' alpha ' "$T/small.txt" || fail "80x24 lost the rows"

# 1b. UTF-8 text (a configuration file name with accents and wide characters) is measured by
#     display width: the header keeps its clock, nothing overflows, at 120 and 80 columns.
U="$T/prod-café-東京の設定ファイル.json"
cp "$T/cfg.json" "$U"
cat >"$T/utf.script" <<EOF
:dump $T/utf.txt
:resize 80 24
:dump $T/utf80.txt
EOF
env LANG=C.UTF-8 TERM=xterm-256color COLUMNS=120 OAUTHTOP_SCRIPT="$T/utf.script" \
	"$OAUTHTOP" --config "$U" >/dev/null 2>"$T/utf.err" || { cat "$T/utf.err"; fail "UTF-8 run"; }
head -1 "$T/utf.txt" | grep -q 'prod-café-東京の設定ファイル.json .*[0-9][0-9]:[0-9][0-9]:[0-9][0-9]$' ||
	fail "UTF-8 header: $(head -1 "$T/utf.txt")"
[ "$(LC_ALL=C.UTF-8 wc -L <"$T/utf.txt")" -le 120 ] || fail "UTF-8 text overflows 120 columns"
[ "$(LC_ALL=C.UTF-8 wc -L <"$T/utf80.txt")" -le 80 ] || fail "UTF-8 text overflows 80 columns"
head -1 "$T/utf80.txt" | grep -q '[0-9][0-9]:[0-9][0-9]:[0-9][0-9]$' || fail "80 columns: clock lost"

# 2. themes: t cycles (default -> high-contrast), a bad file names file and line, unknown name.
mkdir -p "$T/themes"
printf '# a theme\ncolor row.ok green default\ncolor row.due yelow default bold\n' >"$T/themes/bad.theme"
printf 't\n:dump %s/t1.txt\n' "$T" >"$T/theme.script"
run_script theme
[ "$(rc)" = 0 ] || fail "theme cycling exited $(rc)"
tail -1 "$T/t1.txt" | grep -q 'theme: high-contrast' || fail "t: $(tail -1 "$T/t1.txt")"
printf ':dump %s/bad.txt\n' "$T" >"$T/bad.script"
run_script bad OAUTHTOP_THEME_DIR="$T/themes"
[ "$(rc)" = 0 ] || fail "a bad theme must not stop the console"
grep -q "bad.script" "$T/bad.err" && fail "unexpected script error"
cat >"$T/badtheme.script" <<EOF
:dump $T/badtheme.txt
EOF
env LANG=C.UTF-8 TERM=xterm-256color COLUMNS=200 OAUTHTOP_SCRIPT="$T/badtheme.script" OAUTHTOP_THEME_DIR="$T/themes" \
	"$OAUTHTOP" --config "$T/cfg.json" tui --theme bad >/dev/null 2>&1 || fail "--theme bad exited non-zero"
tail -1 "$T/badtheme.txt" | grep -q "themes/bad.theme:3: unknown colour \"yelow\"; using the default theme" ||
	fail "bad theme message: $(tail -1 "$T/badtheme.txt")"
grep -q ' alpha ' "$T/badtheme.txt" || fail "bad theme: no table"
env LANG=C.UTF-8 TERM=xterm-256color OAUTHTOP_SCRIPT="$T/badtheme.script" \
	"$OAUTHTOP" --config "$T/cfg.json" tui --theme nosuch >/dev/null 2>&1 || fail "--theme nosuch exited non-zero"
tail -1 "$T/badtheme.txt" | grep -q 'no theme named "nosuch"' || fail "unknown theme: $(tail -1 "$T/badtheme.txt")"
# every shipped theme parses (no error flash)
for th in default light high-contrast mono; do
	env LANG=C.UTF-8 TERM=xterm-256color OAUTHTOP_SCRIPT="$T/badtheme.script" \
		"$OAUTHTOP" --config "$T/cfg.json" tui --theme "$th" >/dev/null 2>&1 || fail "--theme $th"
	tail -1 "$T/badtheme.txt" | grep -q 'using the default\|no theme' && fail "shipped theme $th: $(tail -1 "$T/badtheme.txt")"
done

# 3. refusals: no terminal (exit 3), a terminal without cursor addressing (exit 3),
#    a bad script (exit 3 naming file and line), a wait-for that times out (exit 1).
expect_rc 3 ot
grep -q 'needs a terminal' "$T/err" || fail "no-terminal message: $(cat "$T/err")"
printf 'q\n' >"$T/q.script"
env TERM=dumb OAUTHTOP_SCRIPT="$T/q.script" "$OAUTHTOP" --config "$T/cfg.json" >/dev/null 2>"$T/err"
[ $? = 3 ] || fail "TERM=dumb did not exit 3"
grep -q 'cannot address the cursor' "$T/err" || fail "dumb terminal message: $(cat "$T/err")"
printf 'j\n<Frobnicate>\n' >"$T/badkey.script"
run_script badkey
[ "$(rc)" = 3 ] || fail "bad script exited $(rc)"
grep -q 'badkey.script:2: unknown key' "$T/badkey.err" || fail "bad script message: $(cat "$T/badkey.err")"
printf ':timeout 300\n:wait-for nothing-like-this-appears\n' >"$T/wf.script"
run_script wf
[ "$(rc)" = 1 ] || fail "a wait-for timeout exited $(rc)"
grep -q 'timed out waiting' "$T/wf.err" || fail "wait-for message: $(cat "$T/wf.err")"
# 4. a keeper daemon writing to the keepers table shows in the header, with its heartbeat.
"$OAUTHTOP" --config "$T/cfg.json" daemon >"$T/daemon.out" 2>&1 &
DPID=$!
OT_PIDS="$OT_PIDS $DPID"
printf ':timeout 8000\n:wait-for keeper: daemon@\n:dump %s/keeper.txt\n' "$T" >"$T/keeper.script"
run_script keeper COLUMNS=120
[ "$(rc)" = 0 ] || { cat "$T/keeper.err" "$T/daemon.out"; fail "no live daemon in the header"; }
head -1 "$T/keeper.txt" | grep -Eq "keeper: daemon@[^ ]+ \(beat (just now|[0-9]+s ago)\)" ||
	fail "keeper header: $(head -1 "$T/keeper.txt")"
kill "$DPID"
wait "$DPID" 2>/dev/null
printf ':dump %s/nokeeper.txt\n' "$T" >"$T/nokeeper.script"
run_script nokeeper COLUMNS=120
head -1 "$T/nokeeper.txt" | grep -Eq 'no keeper|daemon@[^ ]+ gone' ||
	fail "a stopped daemon still shown alive: $(head -1 "$T/nokeeper.txt")"
echo "all passed"
