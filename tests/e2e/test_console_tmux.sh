#!/bin/sh
# The console in a real pseudo-terminal (tmux, private socket): the table lists the accounts,
# countdowns tick, the due row has the due colour, r turns a due account ok, a failing refresh
# shows its error, / filters, keys keep working while a request is slow, another process's
# change appears within a second, R clears every due account, 80x24 stays usable, q exits 0
# and restores the terminal; NO_COLOR and a terminal without colours give a monochrome screen.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null 2>&1 || ot_skip "tmux not installed"

SOCK="ot-console-$$"
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
console_cleanup() { tm kill-server 2>/dev/null; ot_cleanup; }
trap console_cleanup EXIT

idp_start
write_config "ok-one due-a due-b failer slowpoke gamma edge"
import_seed ok-one 3000
import_seed due-a 200
import_seed due-b 250
import_seed failer 3200
import_seed slowpoke 3400
import_seed gamma 3500
idp_rule '{"family":"failer","scenario":"unavailable","times":0,"params":{"seconds":120}}'
import_seed edge 312 # crosses the 300 s window about 12 s after start

screen() { tm capture-pane -p -t main; }
# row_e NAME [SESSION]: that row with its attributes (one line captured alone, so that it
# starts with its full SGR state; tmux only emits changes within one capture).
row_e() {
	_n=$(tm capture-pane -p -t "${2:-main}" | grep -nE "^.$1 " | head -1 | cut -d: -f1)
	[ -n "$_n" ] || return 1
	tm capture-pane -p -e -t "${2:-main}" -S $((_n - 1)) -E $((_n - 1))
}
row() { screen | grep -E "^.$1 " | head -1; }
# wait_screen REGEX [TENTHS]: until the screen matches (default 5 s).
wait_screen() {
	_i=0
	while ! screen | grep -Eq "$1"; do
		_i=$((_i + 1))
		[ $_i -gt "${2:-50}" ] && { screen | sed 's/^/  | /' >&2; return 1; }
		sleep 0.1
	done
}
# seconds of a short countdown ("49m 58s", "1h 02m", "12s")
secs() {
	echo "$1" | awk '{ t = 0; for (i = 1; i <= NF; i++) { v = $i + 0;
		if ($i ~ /d$/) t += v * 86400; else if ($i ~ /h$/) t += v * 3600;
		else if ($i ~ /m$/) t += v * 60; else if ($i ~ /s$/) t += v } print t }'
}
access_of() { row "$1" | awk '{ print $4, $5 }'; }

tm new-session -d -s main -x 120 -y 30 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=tmux-256color $OAUTHTOP --config $T/cfg.json; \
	 echo \"exit=\$?\" >$T/exit; stty -a >$T/stty; sleep 60"

# 1. the table lists every account, most urgent first.
wait_screen 'gamma' || fail "the console did not show the accounts"
for a in ok-one due-a due-b failer slowpoke gamma edge; do
	screen | grep -Eq "^.$a " || { screen; fail "account $a not listed"; }
done
screen | grep -q 'ACCOUNT .*PROVIDER .*STATE' || fail "no column headings"
first=$(screen | sed -n 4p)
echo "$first" | grep -q 'due-a .*DUE' || fail "most urgent first: first row is '$first'"
screen | grep -q 'ok 5 .*due 2' || fail "header counts: $(screen | sed -n 2p)"
row edge | grep -q ' OK ' || fail "edge should start ok: $(row edge)"

# 2. a countdown decreases between two captures, without any key.
c1=$(secs "$(access_of ok-one)")
sleep 2.2
c2=$(secs "$(access_of ok-one)")
[ "$c1" -gt 0 ] && [ "$c2" -lt "$c1" ] || fail "countdown did not tick: $c1 then $c2"

# 2b. an account crossing the 300 s window turns due by itself, in the due colour.
wait_screen 'edge +idp +DUE +(5m 00s|4m 5[0-9]s)' 150 || fail "edge did not turn due at the window"
row_e edge | grep -Eq '\[([0-9]+;)*33(;[0-9]+)*m' || fail "edge not in the due colour"

# 3. rows are coloured by state: due rows yellow (33), ok rows green (32).
row_e due-b | grep -Eq '\[([0-9]+;)*33(;[0-9]+)*m' || fail "due row not yellow: $(row_e due-b | cat -v)"
row_e gamma | grep -Eq '\[([0-9]+;)*32(;[0-9]+)*m' || fail "ok row not green: $(row_e gamma | cat -v)"
row_e gamma | grep -Eq '\[([0-9]+;)*33(;[0-9]+)*m' && fail "ok row carries the due colour"

# 4. r on the selected due account: spinner/ok with a fresh countdown, result in the log.
tm send-keys -t main Home r
wait_screen 'due-a +idp +OK +(59m|1h 00m)' || fail "r did not turn due-a ok"
screen | grep -q 'due-a: refreshed' || fail "no refresh result in the event log"

# 5. / filters incrementally; r on a failing refresh shows the error and the row's state.
tm send-keys -t main / f a i
wait_screen '^/fai' || fail "no filter prompt"
screen | grep -Eq '^.ok-one ' && fail "filter 'fai' still shows ok-one"
screen | grep -Eq '^.failer ' || fail "filter 'fai' hides failer"
tm send-keys -t main Enter r
wait_screen 'failer +idp +FAILING' || fail "failer did not turn failing"
wait_screen '503' || fail "the error is not shown"
screen | tail -1 | grep -q 'failer: refresh failed: .*503' || fail "status line: $(screen | tail -1)"
tm send-keys -t main Escape
wait_screen '^.gamma ' || fail "Esc did not clear the filter"

# 6. a slow request: the screen keeps ticking and keys keep working meanwhile.
idp_rule '{"family":"slowpoke","scenario":"latency","params":{"ms":4000}}'
tm send-keys -t main / s l o w Enter r
wait_screen 'slowpoke +idp +OK +(⠋|⠙|⠹|⠸|⠼|⠴|⠦|⠧|⠇|⠏) ' 20 || fail "no spinner on the slow row"
t1=$(screen | head -1 | awk '{ print $NF }')
tm send-keys -t main Escape
wait_screen '^.gamma ' 20 || fail "keys do not work during a slow refresh"
sleep 1.2
t2=$(screen | head -1 | awk '{ print $NF }')
[ "$t1" != "$t2" ] || fail "the clock froze during a slow refresh ($t1)"
screen | grep -q 'slowpoke: refreshed' && fail "the slow answer landed too early"
wait_screen 'slowpoke: refreshed' 60 || fail "the slow refresh never landed"

# 7. a change by another process appears within a second (no key pressed).
import_seed gamma 100 seed-gamma2
wait_screen 'gamma +idp +DUE' 15 || fail "another process's import did not appear"

# 8. R clears every due account.
screen | grep -Eq ' DUE ' || fail "expected due accounts before R"
tm send-keys -t main R
wait_screen 'due 0 ' 50 || fail "R left due accounts: $(screen | sed -n 2p)"
screen | grep -q ' DUE ' && fail "a DUE row remains after R"

# 9. 80x24: still usable (header, columns, rows, keys), j moves the selection.
tm resize-window -t main -x 80 -y 24
sleep 0.5
[ "$(screen | wc -l)" -le 24 ] || fail "more than 24 lines"
w=$(screen | LC_ALL=C.UTF-8 wc -L)
[ "$w" -le 80 ] || fail "a line $w columns wide at 80x24"
screen | sed -n 3p | grep -q 'ACCOUNT .*STATE.*ACCESS' || fail "80x24 columns: $(screen | sed -n 3p)"
screen | grep -Eq '^.gamma ' || fail "80x24: rows missing"
tm send-keys -t main Escape # also clears the last result's flash message
wait_screen 'q quit *$' 10 || fail "80x24: keys line missing"
sel1=$(screen | grep -n '^>' | cut -d: -f1)
tm send-keys -t main j
sleep 0.3
sel2=$(screen | grep -n '^>' | cut -d: -f1)
[ -n "$sel1" ] && [ "$sel2" = $((sel1 + 1)) ] || fail "j at 80x24: selection $sel1 -> $sel2"
tm resize-window -t main -x 120 -y 30

# 10. q exits 0 and restores the terminal (cooked mode, echo, normal screen).
tm send-keys -t main q
wait_file "$T/exit" 50 || fail "q did not exit"
[ "$(cat "$T/exit")" = "exit=0" ] || fail "console $(cat "$T/exit")"
wait_file "$T/stty" 20 || fail "no stty output"
grep -q -- '-icanon' "$T/stty" && fail "terminal left in raw mode"
grep -Eq '(^| )echo( |$)' "$T/stty" || fail "echo not restored"
screen | grep -q 'ACCOUNT' && fail "the console's screen was left behind"

# 11. NO_COLOR: the monochrome theme (attributes, no colour).
rm -f "$T/exit"
tm new-session -d -s mono -x 120 -y 30 \
	"env NO_COLOR=1 LANG=C.UTF-8 TERM=tmux-256color $OAUTHTOP --config $T/cfg.json; echo \"exit=\$?\" >$T/exit"
i=0
while ! tm capture-pane -p -t mono | grep -Eq '^.gamma '; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "NO_COLOR console did not start"; sleep 0.1
done
tm capture-pane -p -e -t mono | grep -Eq '\[([0-9]+;)*(3[0-7]|38;5;[0-9]+)(;[0-9]+)*m' && fail "colours under NO_COLOR"
tm send-keys -t mono j
sleep 0.3
row_e failer mono | grep -q '^.\[7m\|;7m\|\[7;' && fail "failer still selected in mono"
row_e failer mono | grep -Eq '\[([0-9]+;)*[14](;[0-9]+)*m' || fail "the failing row is not emphasised in mono: $(tm send-keys -t mono j
sleep 0.3
row_e failer mono | grep -q '^.\[7m\|;7m\|\[7;' && fail "failer still selected in mono"
row_e failer mono | cat -v)"
tm send-keys -t mono q
wait_file "$T/exit" 50 || fail "q did not exit (mono)"

# 12. a terminal without colours (vt100) gets the monochrome theme too.
rm -f "$T/exit"
tm new-session -d -s vt -x 120 -y 30 \
	"env LANG=C.UTF-8 TERM=vt100 $OAUTHTOP --config $T/cfg.json; echo \"exit=\$?\" >$T/exit"
i=0
while ! tm capture-pane -p -t vt | grep -Eq '^.gamma '; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "vt100 console did not start"; sleep 0.1
done
tm capture-pane -p -e -t vt | grep -Eq '\[([0-9]+;)*(3[0-7]|38;5;[0-9]+)(;[0-9]+)*m' && fail "colours on vt100"
tm send-keys -t vt j
sleep 0.3
row_e failer vt | grep -Eq '\[([0-9]+;)*[14](;[0-9]+)*m' || fail "vt100: the failing row is not emphasised: $(row_e failer vt | cat -v)"
tm send-keys -t vt q
wait_file "$T/exit" 50 || fail "q did not exit (vt100)"
echo "all passed"
