#!/bin/sh
# The console under valgrind memcheck, driven by a script through every view and key (refresh
# that succeeds, one that fails, refresh-all, details, help, filter, sort, themes, resize,
# click, the authorization panel through an approval and a denial): no memory error, nothing lost (definitely, indirectly or possibly), and no block of
# our own code still reachable at exit. Suppressions only for ncurses' own process-lifetime
# caches (tests/valgrind/ncurses.supp says which and why).
# Skipped without valgrind, and for a sanitizer build (ASan and valgrind do not mix).
. "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null 2>&1 || ot_skip "valgrind not installed"
ldd "$OAUTHTOP" 2>/dev/null | grep -q 'libasan' && ot_skip "sanitizer build"
SUPP="$OT_E2E_DIR/../valgrind/ncurses.supp"
# The lean oauthtop hands the console to oauthtop-full beside it: check that one directly.
FULL="$(dirname "$OAUTHTOP")/oauthtop-full"
[ -x "$FULL" ] || FULL="$OAUTHTOP"
ldd "$FULL" 2>/dev/null | grep -q 'libasan' && ot_skip "sanitizer build"

idp_start
write_config "steady due-one due-two broken newbie refuser" \
	"\"device_authorization_url\": \"$IDP_URL/device_authorization\","
# newbie: pending, then approved; refuser (the next device code): denied at once
idp_admin POST /admin/device '{"script":["authorization_pending","ok","access_denied"],"interval":1}' \
	>/dev/null || fail "device script"
AT="eyJhbGciOiJSUzI1NiJ9.valgrind-access-token.abc"
printf '{"access_token":"%s","token_type":"Bearer","expires_in":3600,"refresh_token":"seed-steady","refresh_expires_in":86400}' \
	"$AT" | ot import steady - >/dev/null || fail "import steady"
import_seed due-one 100
import_seed due-two 200
import_seed broken 100
idp_rule '{"family":"broken","scenario":"unavailable","times":0}'

cat >"$T/vg.script" <<EOF
:timeout 30000
:wait-for due-two
/due-one
<Enter>
r
:wait-for due-one: refreshed
<Esc>
/broken
<Enter>
r
:wait-for broken: refresh failed
<Esc>
R
:wait-idle
j
<Enter>
:wait-for history
j
<Esc>
?
k
<Esc>
/zz
<BS>
<Esc>
s
s
t
t
:resize 80 24
:click 3 5
:resize 120 40
/newbie
<Enter>
a
:wait-for newbie: authorized
<Esc>
/refuser
<Enter>
a
:wait-for refuser: not authorized
<Esc>
<Esc>
:resize 100 30
:dump $T/vg.txt
q
EOF
env LANG=C.UTF-8 TERM=xterm-256color OAUTHTOP_SCRIPT="$T/vg.script" \
	valgrind --trace-children=yes --error-exitcode=99 --leak-check=full --show-leak-kinds=all \
	--errors-for-leak-kinds=definite,indirect,possible --suppressions="$SUPP" --num-callers=30 \
	--log-file="$T/vg.log" "$FULL" --config "$T/cfg.json" >/dev/null 2>"$T/err"
rc=$?
[ "$rc" = 0 ] || { sed 's/^/  | /' "$T/vg.log" "$T/err" | head -80; fail "valgrind run exited $rc"; }
grep -q 'ERROR SUMMARY: 0 errors' "$T/vg.log" || fail "memcheck errors: $(grep 'ERROR SUMMARY' "$T/vg.log")"
grep -Eq 'definitely lost: [1-9]|indirectly lost: [1-9]|possibly lost: [1-9]' "$T/vg.log" &&
	fail "leaks: $(grep -E 'lost:' "$T/vg.log")"
# Blocks still reachable at exit may only be a library's own process-lifetime state (OpenSSL's
# initialisation, for example): the first frame above the allocator must be in a shared
# library, never in our code.
awk '/still reachable in loss record/ { rec = 1; first = ""; next }
     rec && /(at|by) 0x/ {
	if ($0 ~ /vgpreload|\((strdup|malloc|calloc|realloc)\.c:/) next
	if (first == "") { first = $0; if ($0 !~ /\(in \/(usr\/)?lib/) { print "ours:" $0; bad = 1 } }
     }
     /^==[0-9]+== *$/ { rec = 0 }
     END { exit bad }' "$T/vg.log" >"$T/ours" || { cat "$T/ours"; fail "a block of ours still reachable at exit"; }
grep -q 'steady' "$T/vg.txt" || fail "the scripted run did not reach the end: $(cat "$T/vg.txt")"
grep -Eq '^.newbie +idp +OK ' "$T/vg.txt" || fail "newbie not authorized: $(cat "$T/vg.txt")"
grep -Eq '^.refuser +idp +REAUTH ' "$T/vg.txt" || fail "refuser: $(cat "$T/vg.txt")"
grep -q 'due 0' "$T/vg.txt" || fail "R under valgrind: $(sed -n 2p "$T/vg.txt")"
echo "all passed"
