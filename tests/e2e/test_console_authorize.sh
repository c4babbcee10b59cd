#!/bin/sh
# The console's authorization panel (tmux, private socket, 120x40): `a` on an account in
# reauth whose provider has a device authorization endpoint opens a panel with the
# verification URL, the user code and a QR code (half blocks), a live countdown and the
# polling state; the clock keeps ticking while it polls; once the test token server approves
# (admin API: the device script turns "ok"), the panel closes by itself and the row turns OK
# without another key, with the grant stored (event "authorized"). A small terminal shows URL
# and code without the QR code; a denial (or an expired code) is shown in the panel and the
# status line until Esc, and the row stays REAUTH; Esc while pending stops the polling.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null 2>&1 || ot_skip "tmux not installed"

SOCK="ot-auth-$$"
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
console_cleanup() { tm kill-server 2>/dev/null; ot_cleanup; }
trap console_cleanup EXIT

idp_start
write_config "dev denied other" "\"device_authorization_url\": \"$IDP_URL/device_authorization\",
  \"scope\": \"offline_access\","
import_seed other 3000 # dev and denied: nothing stored, so they need authorization

screen() { tm capture-pane -p -t main; }
# wait_screen REGEX [TENTHS]: until the screen matches (default 5 s).
wait_screen() {
	_i=0
	while ! screen | grep -Eq "$1"; do
		_i=$((_i + 1))
		[ $_i -gt "${2:-50}" ] && { screen | sed 's/^/  | /' >&2; return 1; }
		sleep 0.1
	done
}
clock() { screen | head -1 | awk '{ print $NF }'; }
panel_open() { screen | grep -q 'authorize .* (device flow)'; }

idp_admin POST /admin/device '{"script":["authorization_pending"],"interval":1}' >/dev/null ||
	fail "device script"
tm new-session -d -s main -x 120 -y 40 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=tmux-256color $OAUTHTOP --config $T/cfg.json; \
	 echo \"exit=\$?\" >$T/exit; sleep 60"
wait_screen '^.dev +idp +REAUTH' || fail "dev is not listed in reauth"

# 1. a on dev: the panel with URL, code and QR code.
tm send-keys -t main / d e v Enter
wait_screen '^.dev ' || fail "filter"
tm send-keys -t main a
wait_screen 'code +[A-Z]{4}-[A-Z]{4}' || fail "no user code shown"
code=$(screen | sed -n 's/.*code  *\([A-Z]\{4\}-[A-Z]\{4\}\).*/\1/p' | head -1)
screen | grep -q "open  *$IDP_URL/device " || fail "verification URL not shown"
screen | grep -q "$IDP_URL/device?user_code=$code" || fail "verification_uri_complete not shown"
[ "$(screen | grep -c '[▀▄█]')" -ge 12 ] || fail "no QR code (half blocks) in the panel"
screen | grep -q 'enlarge the terminal' && fail "120x40 should fit the QR code"
screen | grep -Eq 'expires +in (9m|10m)' || fail "no countdown of the device code"
wait_screen 'polling +every 1s, [1-9][0-9]* polls?: ' 40 || fail "no polling state"

# 2. responsive while polling: the clock ticks, polls go on.
p1=$(idp_admin GET /admin/device | jq '.polls | length')
t1=$(clock)
sleep 1.2
t2=$(clock)
[ -n "$t1" ] && [ "$t1" != "$t2" ] || fail "the clock froze while polling ($t1 / $t2)"
sleep 1.5
p2=$(idp_admin GET /admin/device | jq '.polls | length')
[ "$p2" -gt "$p1" ] || fail "no polls while the panel is open ($p1 then $p2)"
panel_open || fail "the panel closed by itself while pending"

# 3. the user approves: the panel closes and the row turns OK without another key.
idp_admin POST /admin/device '{"script":["ok"]}' >/dev/null || fail "approve"
i=0
while panel_open; do
	i=$((i + 1)); [ $i -gt 50 ] && { screen >&2; fail "the panel did not close after approval"; }
	sleep 0.1
done
wait_screen '^.dev +idp +OK ' 20 || fail "dev did not turn OK"
screen | grep -q "$code" && fail "the user code is still on screen"
screen | grep -q '[▀▄█]' && fail "the QR code is still on screen"
screen | grep -q 'dev: authorized' || fail "no 'authorized' message"
[ "$(ev_last dev)" = "authorized|authorized (device flow)" ] || fail "event: $(ev_last dev)"
# the stored refresh token is the device grant's (compared by fingerprint)
fp=$(printf '%s' "$(idp_rt device-1)" | sha256sum | cut -c1-8)
[ -n "$fp" ] && [ "$(db_col dev refresh_fp)" = "$fp" ] ||
	fail "the stored refresh token is not the device grant's"
sqlite3 "$STORE" "SELECT actor FROM events WHERE account='dev' AND kind='authorized'" |
	grep -q '^console@' || fail "actor is not the console"

# 4. a small terminal: URL and code without the QR code, and a word about it.
idp_admin POST /admin/device '{"script":["authorization_pending"],"interval":1}' >/dev/null
tm send-keys -t main Escape / d e n Enter
wait_screen '^.denied +idp +REAUTH' || fail "denied not listed"
tm resize-window -t main -x 80 -y 24
sleep 0.3
tm send-keys -t main a
wait_screen 'code +[A-Z]{4}-[A-Z]{4}' || fail "80x24: no user code"
screen | grep -q 'enlarge the terminal for a QR code' || fail "80x24: no word about the QR code"
screen | grep -q '[▀▄█]' && fail "80x24: a QR code that does not fit"
[ "$(screen | wc -l)" -le 24 ] || fail "more than 24 lines"
tm resize-window -t main -x 120 -y 40
wait_screen '[▀▄█]' 20 || fail "no QR code after enlarging"

# 5. the user denies: said in the panel and the status line until Esc; the row stays REAUTH.
idp_admin POST /admin/device '{"script":["access_denied"]}' >/dev/null
wait_screen 'failed +.*denied' 40 || fail "access_denied not shown in the panel"
screen | tail -1 | grep -q 'denied: not authorized: .*denied' || fail "status line: $(screen | tail -1)"
sleep 1.2
panel_open || fail "the panel closed by itself after a denial"
tm send-keys -t main Escape
i=0
while panel_open; do
	i=$((i + 1)); [ $i -gt 30 ] && fail "Esc did not close the panel"
	sleep 0.1
done
wait_screen '^.denied +idp +REAUTH' 10 || fail "denied is not REAUTH after the denial"
[ -z "$(db_col denied account)" ] || fail "something stored for a denied authorization"

# 5b. an expired device code: said until Esc, with a try-again key.
idp_admin POST /admin/device '{"script":["expired_token"],"interval":1}' >/dev/null
tm send-keys -t main a
wait_screen 'failed +.*expired' 40 || fail "expired_token not shown in the panel"
screen | grep -q 'Esc close  a try again' || fail "no keys for a failed authorization"
tm send-keys -t main Escape
sleep 0.3
panel_open && fail "Esc did not close the panel after expiry"

# 6. Esc while pending cancels: nothing stored, polling stops, q still quits.
idp_admin POST /admin/device '{"script":["authorization_pending"],"interval":1}' >/dev/null
tm send-keys -t main a
wait_screen 'code +[A-Z]{4}-[A-Z]{4}' || fail "no panel the second time"
tm send-keys -t main Escape
sleep 0.3
panel_open && fail "Esc did not cancel"
p1=$(idp_admin GET /admin/device | jq '.polls | length')
sleep 2.2
p2=$(idp_admin GET /admin/device | jq '.polls | length')
[ "$p1" = "$p2" ] || fail "still polling after Esc ($p1 then $p2)"
tm send-keys -t main q
wait_file "$T/exit" 50 || fail "q did not exit"
[ "$(cat "$T/exit")" = "exit=0" ] || fail "console $(cat "$T/exit")"
echo "all passed"
