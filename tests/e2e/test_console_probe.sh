#!/bin/sh
# The console at the edges (tmux, private socket), what the other console tests leave out:
# tiny terminals at start (1x1, 10x3, 20x5, 40x10) and resize storms while refreshes are in
# flight, 400 columns, a 128-character account name, server error text with CJK, combining
# marks, emoji and terminal control sequences (the screen is not garbled), key mashing (every
# unbound key, function keys, Alt, mouse reports, a bracketed paste, stray escape sequences),
# Ctrl-C, the filter prompt (200 characters, Backspace over UTF-8), help and details scrolled
# at 40x8, the title at 58-62 columns and with a long configuration file name, zero accounts,
# 5000 accounts scrolled to the end and back, theme files with bad values, the store locked by
# another process (the screen must not freeze), the token server killed mid-refresh. Each
# time: no crash, no sanitizer report, the frame in place, no token or secret on the screen,
# q exits 0 and restores the terminal. Failed checks are collected and listed at the end (the
# test fails until they are fixed). tmux clips to the pane, so "in the window" checks catch
# wrapped or shifted lines, not writes past the edge.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null 2>&1 || ot_skip "tmux not installed"

SOCK="ot-probe-$$"
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
probe_cleanup() {
	tm kill-server 2>/dev/null
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
	ot_cleanup
}
trap probe_cleanup EXIT

# one idle session keeps the tmux server up between the console's sessions (it exits with its
# last session, and a new-session racing that exit fails)
tm new-session -d -s keep -x 20 -y 5 "sleep 300" || fail "tmux did not start"
BUGS="$T/bugs"
: >"$BUGS"
bug() { echo "  - $*" >>"$BUGS"; }

idp_start
LONG=$(printf 'L%.0s' $(seq 1 128))
write_config "$LONG alpha due-one slow ctl cjk locky"
for a in "$LONG" alpha slow ctl cjk; do import_seed "$a" 3000; done
import_seed due-one 100
import_seed locky 100
idp_rule '{"family":"slow","scenario":"latency","times":0,"params":{"ms":2500}}'
idp_rule '{"family":"ctl","scenario":"invalid_grant","times":0,"params":{"description":"bad\u001b[2J\u001b[H\u001b[31mRED\u0007bell\r\ncr\ttab\u009b31mC1 e\u0301 \u200b\u202eRTL\u202c"}}'
idp_rule '{"family":"cjk","scenario":"invalid_grant","times":0,"params":{"description":"東京の設定ファイル東京の設定ファイル東京の設定ファイル東京の設定ファイル 🔥💀👨‍👩‍👧‍👦🏳️‍🌈 Z̴̧̛̖̗a̶͓̓l̵̹̈g̸̣̈o̶̜͝"}}'

# start SESSION W H [CONFIG] [ENV...]: the console in its own tmux session; its stderr in
# $T/SESSION.err, its exit status in $T/SESSION.exit, stty after exit in $T/SESSION.stty.
start() {
	_s=$1 _w=$2 _h=$3 _c=${4:-$T/cfg.json}
	shift 3; [ $# -gt 0 ] && shift
	rm -f "$T/$_s.exit" "$T/$_s.stty"
	tm new-session -d -s "$_s" -x "$_w" -y "$_h" \
		"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=tmux-256color $* $OAUTHTOP --config '$_c' 2>'$T/$_s.err'; \
		 echo \"exit=\$?\" >'$T/$_s.exit'; stty -a >'$T/$_s.stty'; sleep 60"
}
# snap SESSION: the screen as text (also kept for the secret check at the end)
SN=0
snap() { SN=$((SN + 1)); tm capture-pane -p -t "$1" | tee "$T/snap.$SN"; }
# wait_for SESSION REGEX [TENTHS]
wait_for() {
	_i=0
	while ! snap "$1" | grep -Eq "$2"; do
		_i=$((_i + 1))
		[ $_i -gt "${3:-50}" ] && return 1
		sleep 0.1
	done
}
# fits SESSION W H WHAT: nothing on the screen outside W x H
fits() {
	snap "$1" >"$T/fit"
	_l=$(wc -l <"$T/fit")
	_c=$(LC_ALL=C.UTF-8 wc -L <"$T/fit")
	[ "$_l" -le "$3" ] && [ "$_c" -le "$2" ] || {
		bug "$4: screen is ${_c}x$_l in a ${2}x$3 window"; sed 's/^/    | /' "$T/fit" >&2; }
}
# layout SESSION WHAT: the table's frame is where it belongs (title, counts, column
# headings, a separator line), so that nothing has overwritten or shifted it
layout() {
	snap "$1" >"$T/lay"
	sed -n 1p "$T/lay" | grep -q '^ oauthtop ' || bug "$2: title line is '$(sed -n 1p "$T/lay")'"
	sed -n 2p "$T/lay" | grep -q '^ ok [0-9]' || bug "$2: counts line is '$(sed -n 2p "$T/lay")'"
	sed -n 3p "$T/lay" | grep -q '^ ACCOUNT' || bug "$2: headings line is '$(sed -n 3p "$T/lay")'"
	grep -Eq '^(─)+$' "$T/lay" || bug "$2: no separator line"
}
# title_is SESSION REGEX: the title line matches within 1.2 s (after a resize)
title_is() {
	_i=0
	while ! snap "$1" | head -1 | grep -Eq "$2"; do
		_i=$((_i + 1)); [ $_i -gt 12 ] && return 1; sleep 0.1
	done
}
clock() { snap "$1" | head -1 | grep -Eo '[0-9]{2}:[0-9]{2}:[0-9]{2} *$' | tr -d ' '; }
# quit SESSION WHAT: q exits 0 and restores the terminal
quit() {
	tm send-keys -t "$1" q
	wait_file "$T/$1.exit" 50 || { bug "$2: q did not exit"; tm kill-session -t "$1"; return; }
	[ "$(cat "$T/$1.exit")" = exit=0 ] || bug "$2: the console $(cat "$T/$1.exit")"
	wait_file "$T/$1.stty" 20 && grep -q -- '-icanon' "$T/$1.stty" && bug "$2: terminal left in raw mode"
	tm kill-session -t "$1" 2>/dev/null
}

# 1. tiny terminals at start: no crash, nothing outside the window, q still exits 0.
for sz in 1x1 10x3 20x5 40x10; do start "t$sz" "${sz%x*}" "${sz#*x}"; done
sleep 1.2
for sz in 1x1 10x3 20x5; do
	fits "t$sz" "${sz%x*}" "${sz#*x}" "start at $sz"
	tm send-keys -t "t$sz" j '?' Enter Escape
done
snap t20x5 | head -1 | grep -q '^terminal too small' || bug "20x5: no 'terminal too small' notice"
wait_for t40x10 '^>alpha|^ alpha' 20 || bug "40x10: no table"
fits t40x10 40 10 "start at 40x10"
for sz in 1x1 10x3 20x5 40x10; do quit "t$sz" "$sz"; done

# 2. 120x30: long name, error text with control sequences and wide text, all in the window.
start m 120 30
wait_for m '^.cjk ' || fail "the console did not start: $(cat "$T/m.err")"
tm send-keys -t m / c t l Enter r Escape / c j k Enter r Escape
wait_for m '^.ctl +idp +REAUTH' 50 && wait_for m '^.cjk +idp +REAUTH' 30 || bug "r: ctl/cjk not REAUTH"
wait_for m "^.L{27}… " 20 || bug "the 128-character name is not cut with …"
fits m 120 30 "error text with control sequences"
layout m "error text with control sequences"
snap m | head -1 | grep -q '^ oauthtop ' || bug "the server's ESC[2J/ESC[H reached the terminal (title gone)"
tm send-keys -t m / c t l Enter Enter
wait_for m '^ ctl  REAUTH' 20 || bug "details of ctl did not open"
snap m | grep -q 'last error .*RED' || bug "details: the error text is not shown"
fits m 120 30 "details with control sequences"
tm send-keys -t m Escape Escape / c j k Enter Enter
wait_for m '^ cjk  REAUTH' 20 || bug "details of cjk did not open"
fits m 120 30 "details with CJK, emoji and combining marks"
tm send-keys -t m Escape Escape

# 3. resize storm while two slow refreshes are in flight, then 400 columns.
tm send-keys -t m / s l o w Enter r Escape / d u e Enter r Escape
i=0
for sz in 1x1 10x3 400x30 20x5 2x2 40x10 400x100 1x1 40x8 80x24 3x200; do
	tm resize-window -t m -x "${sz%x*}" -y "${sz#*x}"
done
while [ $i -lt 40 ]; do
	tm resize-window -t m -x $((1 + i * 37 % 300)) -y $((1 + i * 13 % 60))
	i=$((i + 1))
done
tm resize-window -t m -x 400 -y 30
wait_for m 'slow: refreshed' 50 || bug "the slow refresh did not land through the resizes"
fits m 400 30 "400 columns"
layout m "400 columns"
snap m | head -1 | grep -Eq 'no keeper +[0-9]{2}:[0-9]{2}:[0-9]{2}$' || bug "400 columns: title $(snap m | head -1)"
snap m | grep -Eq '^.slow +idp +OK ' || bug "400 columns: slow row $(snap m | grep slow | head -1)"

# 4. help and details at 40x8 scrolled past their end, then back to 120x30.
tm resize-window -t m -x 40 -y 8
tm send-keys -t m g Enter
i=0; while [ $i -lt 40 ]; do tm send-keys -t m j; i=$((i + 1)); done
sleep 0.3
fits m 40 8 "details scrolled at 40x8"
[ "$(snap m | sed -n '2,7p' | grep -c .)" -gt 0 ] || bug "details at 40x8 scrolled into emptiness"
tm send-keys -t m Escape '?'
i=0; while [ $i -lt 60 ]; do tm send-keys -t m j; i=$((i + 1)); done
sleep 0.3
fits m 40 8 "help scrolled at 40x8"
[ "$(snap m | sed -n '2,7p' | grep -c .)" -gt 0 ] ||
	bug "help (view_help_key): j scrolls past the last line; at 40x8 after 60 j the body is empty"
tm resize-window -t m -x 120 -y 30
tm send-keys -t m Escape Escape
wait_for m '^.alpha ' 20 || bug "Esc did not return to the table"

# 5. the title: a space between the file name and 'window', the clock never overwritten.
for w in 62 61 60 59 58; do
	tm resize-window -t m -x $w -y 24
	title_is m "[0-9]{2}:[0-9]{2}:[0-9]{2}\$"
	title_is m 'cfg\.json( +[a-z0-9].*| *)$' ||
		bug "title at $w columns (view_table.c draw_title): '$(snap m | head -1)'"
done
tm resize-window -t m -x 120 -y 30

# 6. key mashing: unbound keys, controls, function keys, Alt, mouse, paste; then still alive.
#    (not a: it hands the terminal to an authorization flow; not q, C-c, C-z, C-\)
for c in b c d e f h i l m n o p u v w x y z A B C D E F H I J K L M N O P Q S T U V W X Y Z \
	0 1 2 3 4 5 6 7 8 9 '!' '@' '#' '$' '%' '^' '&' '*' '(' ')' '-' '_' '=' '+' '[' ']' '{' '}' \
	';' ':' "'" '"' ',' '.' '<' '>' '~' '`' '|' 'é' '東' '🔥'; do
	tm send-keys -t m -l "$c"
done
tm send-keys -t m Escape Escape
for c in C-a C-b C-d C-e C-f C-g C-h C-i C-j C-k C-l C-n C-o C-p C-r C-t C-u C-v C-w C-x C-y \
	F1 F2 F3 F4 F5 F6 F7 F8 F9 F10 F11 F12 Left Right Up Down PgUp PgDn Home End IC DC BTab \
	M-x M-j M-Enter Escape Escape; do
	tm send-keys -t m "$c"
done
esc=$(printf '\033')
tm send-keys -t m -l "$esc[<0;10;6M$esc[<0;10;6m$esc[<64;10;6M$esc[<65;10;6M$esc[<2;500;500M"
tm send-keys -t m -l "$esc[M !!$esc[M#!!$esc[<0;99999;99999M$esc[9999;9999R$esc]0;x$(printf '\007')"
tm send-keys -t m -l "${esc}P123$esc\\$esc[?1;2c$esc[200~xyz$esc[201~$esc[99999999999999999999~"
tm send-keys -t m Escape Escape Escape Escape
sleep 0.5
tm send-keys -t m Escape Escape
[ -s "$T/m.exit" ] && fail "the console died while keys were mashed: $(cat "$T/m.exit") $(cat "$T/m.err")"
wait_for m '^ ACCOUNT .*STATE' 30 || bug "after mashing: no table"
fits m 120 30 "after mashing"
layout m "after mashing"

# 6b. the filter prompt: 200 characters stay on the line; Backspace removes whole UTF-8
#     characters (no stray bytes left on the screen).
tm send-keys -t m /
tm send-keys -t m -l "$(printf 'x%.0s' $(seq 1 200))"
sleep 0.3
fits m 120 30 "a 200-character filter"
snap m | tail -1 | grep -q '^/xxxx.*…' || bug "200-character filter: '$(snap m | tail -1)'"
tm send-keys -t m Escape /
tm send-keys -t m -l "aé東🔥"
tm send-keys -t m BSpace BSpace BSpace
sleep 0.3
snap m | tail -1 | LC_ALL=C grep -q '^/a  ' || bug "Backspace over UTF-8 in the filter: '$(snap m | tail -1 | od -c | head -2)'"
tm send-keys -t m Escape Escape
wait_for m '^.alpha ' 20 || bug "Esc did not clear the filter"

# 7. the store locked by another process: the screen keeps ticking, keys keep working.
(echo '.timeout 5000'; echo 'BEGIN EXCLUSIVE;'; sleep 3; echo 'COMMIT;') | sqlite3 "$STORE" &
LOCKER=$!
OT_PIDS="$OT_PIDS $LOCKER"
i=0
while sqlite3 "$STORE" 'BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 30 ] && fail "could not lock the store for the test"; sleep 0.1
done
tm send-keys -t m / l o c k y Enter r
sleep 0.6
c1=$(clock m)
tm send-keys -t m Escape
sleep 1.5
c2=$(clock m)
snap m | grep -q '^/locky' && bug "store locked: Esc not handled within 1.5 s"
[ -n "$c1" ] && [ "$c1" != "$c2" ] ||
	bug "store locked by another process: r froze the screen (clock $c1 then $c2, 1.5 s apart; DESIGN 7: the screen never freezes)"
wait "$LOCKER" 2>/dev/null
wait_for m '^.locky +idp +OK|locky: .*locked' 70 || bug "store locked: locky neither refreshed nor a word about the lock"
tm send-keys -t m Escape

# 8. the token server killed in the middle of a refresh.
tm send-keys -t m / s l o w Enter r
sleep 0.5
kill -9 "$IDP_PID"
wait_for m '^.slow +idp +FAILING' 80 || bug "token server killed mid-refresh: slow not FAILING"
fits m 120 30 "token server gone"
layout m "token server gone"
tm send-keys -t m Escape
quit m "main session"

# 9. a long configuration file name: cut before the clock, never under it.
LC="$T/a-really-long-configuration-file-name-for-the-production-fleet-of-accounts.json"
cp "$T/cfg.json" "$LC"
start lc 120 24 "$LC"
wait_for lc '^.alpha ' || bug "long config name: no table"
for w in 110 100 90 60; do
	tm resize-window -t lc -x $w -y 24
	title_is lc ' [0-9]{2}:[0-9]{2}:[0-9]{2}$' ||
		bug "long config file name at $w columns (view_table.c draw_title): '$(snap lc | head -1)'"
done
quit lc "long config name"

# 10. zero accounts: every key, q exits 0.
sed 's/"accounts": \[.*\]/"accounts": []/' "$T/cfg.json" >"$T/zero.json"
start z 80 24 "$T/zero.json"
wait_for z 'no accounts' || bug "zero accounts: no notice: $(snap z | sed -n 5p)"
tm send-keys -t z j k G g PgDn PgUp Enter r R s / x Escape Escape Enter '?' Escape Enter Escape
sleep 0.3
fits z 80 24 "zero accounts"
quit z "zero accounts"

# 11. 5000 accounts: End/G to the last row, Home/g back, PgDn, filter; Ctrl-C exits 0.
seq -f 'acct%04g' 0 4999 | awk 'BEGIN { printf "\"accounts\": [" }
	{ printf "%s{\"name\":\"%s\",\"provider\":\"idp\"}", (NR > 1 ? "," : ""), $1 }
	END { print "] }" }' >"$T/many.acc"
sed '/"accounts": \[/,$d' "$T/cfg.json" >"$T/many.json"
cat "$T/many.acc" >>"$T/many.json"
start k 120 30 "$T/many.json"
wait_for k '^>acct' 100 || bug "5000 accounts: no table"
first=$(snap k | grep '^>')
tm send-keys -t k End
sleep 0.3
sel=$(snap k | grep -n '^>' | cut -d: -f1)
last=$(snap k | grep -n '^.acct' | tail -1 | cut -d: -f1)
[ -n "$sel" ] && [ "$sel" = "$last" ] || bug "End: selection on line $sel, last row on $last"
tm send-keys -t k j j
sleep 0.2
[ "$(snap k | grep -n '^>' | cut -d: -f1)" = "$last" ] || bug "j past the last row moved the selection"
tm send-keys -t k g k
sleep 0.2
[ "$(snap k | grep '^>')" = "$first" ] || bug "g: not back on the first row: $(snap k | grep '^>')"
tm send-keys -t k G Home PgDn PgDn
sleep 0.2
snap k | grep -q '^>' || bug "PgDn: no selected row"
tm send-keys -t k / 4 9 9 9 Enter
wait_for k '^>acct4999 ' 20 || bug "filter 4999: $(snap k | sed -n 4p)"
tm resize-window -t k -x 40 -y 8
tm send-keys -t k Escape G
sleep 0.3
fits k 40 8 "5000 accounts at 40x8"
tm send-keys -t k C-c
wait_file "$T/k.exit" 50 || bug "Ctrl-C did not exit"
[ "$(cat "$T/k.exit" 2>/dev/null)" = exit=0 ] || bug "Ctrl-C: $(cat "$T/k.exit" 2>/dev/null)"
wait_file "$T/k.stty" 20 && grep -q -- '-icanon' "$T/k.stty" && bug "Ctrl-C left the terminal raw"
# Ctrl-\ (SIGQUIT) too ends the console cleanly: exit 0, the terminal restored
start quit 80 20
wait_for quit '^ ACCOUNT' 50 || bug "console for Ctrl-\\ did not start"
tm send-keys -t quit 'C-\'
wait_file "$T/quit.exit" 50 || bug "Ctrl-\\ did not end the console"
[ "$(cat "$T/quit.exit" 2>/dev/null)" = exit=0 ] || bug "Ctrl-\\: $(cat "$T/quit.exit" 2>/dev/null)"
wait_file "$T/quit.stty" 20 && grep -q -- '-icanon' "$T/quit.stty" && bug "Ctrl-\\ left the terminal raw"

# 12. theme files with bad values: the console runs, names file and line, stays in the window.
mkdir -p "$T/themes"
printf 'color row.ok color99999 default\n' >"$T/themes/t1.theme"
printf 'color row.ok -1 300 bold\n' >"$T/themes/t2.theme"
printf 'color row.ok green default%s\n' "$(printf ' bold%.0s' $(seq 1 40))" >"$T/themes/t3.theme"
{ printf 'color row.ok green '; head -c 5000 /dev/zero | tr '\0' x; echo; } >"$T/themes/t4.theme"
head -c 3000 /dev/urandom >"$T/themes/t5.theme"
printf 'color\ncolor row.ok\n' >"$T/themes/t6.theme"
printf 'color row.ok 4294967297 18446744073709551617\n' >"$T/themes/t7.theme"
printf 'color row.ok \033[31m\033]0;pwn\007 default\n' >"$T/themes/t8.theme"
for i in 1 2 3 4 5 6 7 8; do
	printf ':dump %s/th%s.txt\nt\n' "$T" "$i" >"$T/th.script"
	env LANG=C.UTF-8 TERM=xterm-256color COLUMNS=120 LINES=30 OAUTHTOP_SCRIPT="$T/th.script" \
		OAUTHTOP_THEME_DIR="$T/themes" "$OAUTHTOP" --config "$T/cfg.json" tui --theme "t$i" \
		>/dev/null 2>>"$T/themes.err"
	rc=$?
	[ $rc = 0 ] || bug "theme t$i: exit $rc"
	tail -1 "$T/th$i.txt" | grep -q "t$i.theme:1: " ||
		bug "theme t$i: $(tail -1 "$T/th$i.txt")"
	[ "$(LC_ALL=C.UTF-8 wc -L <"$T/th$i.txt")" -le 120 ] || bug "theme t$i: message overflows 120 columns"
	grep -q "$(printf '\033')" "$T/th$i.txt" && bug "theme t$i: an escape character on the screen"
	cp "$T/th$i.txt" "$T/snap.th$i"
done

# 13. no sanitizer report, and no token or secret on any screen.
for f in "$T"/*.err; do
	grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: ' "$f" &&
		{ bug "sanitizer report in $(basename "$f")"; head -20 "$f" | sed 's/^/    | /' >&2; }
done
secrets="test-secret seed- A1-"
for n in alpha due-one slow; do
	rt=$(sqlite3 "$STORE" "SELECT refresh_token FROM secrets WHERE account = '$n'" 2>/dev/null)
	[ -n "$rt" ] && secrets="$secrets $rt"
	at=$(sqlite3 "$STORE" "SELECT access_token FROM secrets WHERE account = '$n'" 2>/dev/null)
	[ -n "$at" ] && secrets="$secrets $at"
done
[ "$(echo "$secrets" | wc -w)" -ge 7 ] || bug "could not read the token values from the store"
for s in $secrets; do
	grep -l -F -- "$s" "$T"/snap.* >/dev/null 2>&1 && bug "a secret ($(echo "$s" | cut -c1-4)…) on a screen"
done

if [ -s "$BUGS" ]; then
	echo "FAIL: $(wc -l <"$BUGS") console problem(s):" >&2
	cat "$BUGS" >&2
	exit 1
fi
echo "all passed"
