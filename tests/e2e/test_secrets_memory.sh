#!/bin/sh
# Secrets are wiped after use (DESIGN §8, explicit_bzero through ot_wipe): a daemon rotates
# an account's tokens once; then its whole readable memory is scanned (/proc/PID/mem, which
# needs root for a process that is not dumpable: skipped otherwise). The replaced access
# token and the rotated-out refresh token must be gone - also from libcurl's freed request
# buffer ("grant_type=refresh_token&refresh_token=..."): libcurl allocates through http.c's
# wiping hooks (curl_global_init_mem). The current refresh token must be found (so the scan
# can see what it looks for).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || ot_skip "reading a non-dumpable process's memory needs root"
# Under ASan freed memory sits in quarantine and frames in fake stacks: not the real picture.
grep -q __asan_init "$OAUTHTOP" 2>/dev/null && ot_skip "an ASan build keeps memory its own way"

idp_start --token-bytes 48
write_config "m1" "" '"min_interval": 0,'
# tok NAME access_token|refresh_token: a stored token value (the "secrets" table since store
# schema 2, "credentials" before).
tok() {
	_tt=credentials
	sqlite3 "$STORE" "SELECT name FROM sqlite_master WHERE name = 'secrets'" | grep -q . && _tt=secrets
	sqlite3 "$STORE" "SELECT $2 FROM $_tt WHERE account = '$1'"
}
rnd() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
RT="SECRETSENTINEL-RT-m1-$(rnd)"
AT="SECRETSENTINEL-AT-m1-$(rnd)"
idp_admin POST /admin/seed "{\"family\":\"m1\",\"refresh_token\":\"$RT\",\"access_token\":\"$AT\"}" \
	>/dev/null || fail "seed"
printf '{"access_token":"%s","token_type":"Bearer","expires_in":60,"refresh_token":"%s"}' \
	"$AT" "$RT" | ot import m1 - >/dev/null || fail "import"

"$OAUTHTOP" --config "$T/cfg.json" daemon 2>"$T/daemon.err" &
D=$!
OT_PIDS="$OT_PIDS $D"
i=0
while [ "$(tok m1 refresh_token)" = "$RT" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "$(tok m1 refresh_token)" != "$RT" ] || fail "the daemon did not rotate: $(cat "$T/daemon.err")"
sleep 0.5
NEW_RT=$(tok m1 refresh_token)
NEW_AT=$(tok m1 access_token)

# count NEEDLE: occurrences in every readable private mapping of the daemon.
count() {
	_total=0
	while read -r _range _perms _off _dev _inode _name; do
		case $_perms in r*) ;; *) continue ;; esac
		case ${_name:-} in \[vvar\] | \[vsyscall\] | \[vdso\]) continue ;; esac
		_a=$((0x${_range%-*}))
		_b=$((0x${_range#*-}))
		[ $((_b - _a)) -le 1073741824 ] || continue # reserved address space, not data
		_c=$(dd if="/proc/$D/mem" bs=4096 skip=$((_a / 4096)) count=$(((_b - _a) / 4096)) \
			2>/dev/null | tr '\0' '\n' | grep -a -o -F "$1" | wc -l)
		_total=$((_total + _c))
	done <"/proc/$D/maps"
	echo "$_total"
}
kill -STOP "$D"
old_at=$(count "$AT")
old_rt=$(count "$RT")
new_rt=$(count "$NEW_RT")
new_at=$(count "$NEW_AT")
kill -CONT "$D"
echo "in memory after one rotation: old access token $old_at, old refresh token $old_rt," \
	"current refresh token $new_rt, current access token $new_at"
[ "$new_rt" -ge 1 ] || fail "the scan does not find the current refresh token"
[ "$old_at" = 0 ] || fail "the replaced access token is still in memory $old_at times"
[ "$old_rt" = 0 ] || fail "the rotated-out refresh token is still in memory $old_rt times"
[ -n "${OT_FIGURES:-}" ] && echo "old_at=$old_at old_rt=$old_rt new_rt=$new_rt new_at=$new_at" >"$OT_FIGURES"
echo "all passed"
