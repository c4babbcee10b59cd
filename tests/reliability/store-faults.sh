#!/bin/sh
# Store faults (RELIABILITY.md), against a strict-rotation test token server. Each case: the
# keeper meets the fault and exits 3 with a message naming it; no refresh token is lost (the
# store still holds every family's current token, or the in-flight marker of a token the
# server still accepts); the next run, once the fault is gone, recovers every account.
#   disk-full-at-start   no byte may be written (RLIMIT_FSIZE 0): nothing is sent
#   disk-full-mid-run    the limit at the store's size: leases fit in the WAL, a later commit
#                        fails (EFBIG, as ENOSPC would); the engine holds the answers and
#                        retries the store for up to lease_seconds. Space back meanwhile: all
#                        stored, 0 lost with no grace. Stays full: it gives up; the next run
#                        resends: 0 lost with a grace period; with none (full run only) at
#                        most the unstored answers are lost (printed as the bound)
#   locked               another process holds an exclusive lock past the busy timeout (5 s)
#   garbage              the store file replaced by random bytes: refused, left untouched
#   read-only-dir        the state directory not writable (as an unprivileged user: root
#                        ignores modes): no -wal/-shm can be created
#
# usage: store-faults.sh [--accounts N] [--lock-seconds S (30; > 10: the keeper's heartbeat
#                        and its lease each wait the 5 s busy timeout)] [--quick 1 (skip the
#                        disk-stays-full case without grace: CI)] [--results FILE]
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${OAUTHTOP:=$root/oauthtop}" "${OT_IDP:=$root/build/oauthtop-idp}"
export OAUTHTOP OT_IDP
unset LC_ALL; LC_COLLATE=C; export LC_COLLATE # sort, comm and join agree with SQLite

ACCOUNTS=20 RESULTS="" HOLD=30 QUICK=0
while [ $# -gt 0 ]; do
	case $1 in
	--accounts) ACCOUNTS=$2 ;;
	--results) RESULTS=$2 ;;
	--lock-seconds) HOLD=$2 ;;
	--quick) QUICK=$2 ;;
	*) echo "usage: store-faults.sh [--accounts N] [--lock-seconds S] [--quick 0|1] [--results FILE]" >&2; exit 2 ;;
	esac
	shift 2 || exit 2
done
. "$root/tests/e2e/lib.sh"
command -v prlimit >/dev/null 2>&1 || ot_skip "prlimit (util-linux) not installed"
sql() { sqlite3 -cmd '.timeout 10000' "$STORE" "$@"; }

idp_start --reuse strict --grace 0 --latency-ms 30
accts=""
i=1
while [ $i -le "$ACCOUNTS" ]; do accts="$accts s$i"; i=$((i + 1)); done
write_config "$accts" '"max_concurrency": 8,' '"lease_seconds": 12, "timeouts": { "connect": 1, "total": 1 },'
for a in $accts; do import_seed "$a" 3600; done
expect_rc 0 ot refresh --all --force # every family exists on the server

figures=""
# disagree: accounts whose stored refresh token is not the server's current one.
disagree() {
	idp_admin GET /admin/families |
		jq -r 'to_entries[] | select(.value.revoked | not) | "\(.key) \(.value.current_refresh_token)"' |
		sort >"$T/server"
	sql "SELECT account || ' ' || refresh_token FROM credentials LEFT JOIN secrets USING (account) WHERE last_outcome != 3" | sort >"$T/store"
	echo $((ACCOUNTS - $(comm -12 "$T/server" "$T/store" | wc -l)))
}
markers() { sql "SELECT count(*) FROM credentials WHERE lease_host IS NOT NULL AND inflight_fp = refresh_fp AND inflight_fp != ''"; }
sent() { idp_stat token_requests; }
# recover CASE: the next run without the fault refreshes every account; store == server.
recover() {
	_ig=$(idp_stat invalid_grant)
	expect_rc 0 ot refresh --all --force
	grep -q "^refresh: $ACCOUNTS refreshed, 0 failed" "$T/out" || fail "$1: recovery run: $(tail -1 "$T/out")"
	[ "$(disagree)" = 0 ] || fail "$1: $(disagree) accounts disagree with the server after recovery"
	[ "$(idp_stat invalid_grant)" = "$_ig" ] || fail "$1: invalid_grant during the recovery run"
}
# limited BYTES CMD...: CMD with RLIMIT_FSIZE at BYTES and SIGXFSZ ignored (writes past the
# limit fail with EFBIG, as with a full disk); stdout/stderr through pipes ($T/out, $T/err)
# since the limit would apply to a regular file too. Returns CMD's exit status.
limited() {
	_l=$1; shift
	{ { trap '' XFSZ; prlimit --fsize="$_l" "$@"; echo $? >"$T/lrc"; } 2>&1 1>&3 | cat >"$T/err"; } 3>&1 |
		cat >"$T/out"
	return "$(cat "$T/lrc")"
}
# faulty CASE WANT_TEXT [limited BYTES] CMD...: exit 3 and the message names the fault; no
# token shown.
faulty() {
	_fcase=$1 _fwant=$2; shift 2
	if [ "$1" = limited ]; then
		"$@"
		_frc=$?
		[ $_frc = 3 ] || { cat "$T/out" "$T/err" >&2; fail "$_fcase: exit $_frc, want 3"; }
	else
		expect_rc 3 "$@"
	fi
	cat "$T/out" "$T/err" | grep -q "$_fwant" ||
		fail "$_fcase: message does not say '$_fwant': $(cat "$T/out" "$T/err")"
	grep -q 'seed-\|rt-s[0-9]\|at-s[0-9]\|A1-s\|test-secret' "$T/out" "$T/err" && fail "$_fcase: a token in the output"
	msg=$(grep -v '^curl' "$T/err" | tail -1 | sed "s|$T|\$T|g")
	[ -n "$msg" ] || msg=$(grep -m1 ': error: ' "$T/out" | sed "s|$T|\$T|g")
}
note() {
	echo "  $1: $2"
	figures="$figures $1=$3"
}

# 1. Disk full before anything is written: nothing may be leased, so nothing is sent.
before=$(sent)
faulty disk-full-at-start 'disk I/O error\|disk is full\|too large' limited 0 "$OAUTHTOP" --config "$T/cfg.json" refresh --all --force
[ "$(sent)" = "$before" ] || fail "disk-full-at-start: $(($(sent) - before)) requests sent"
[ "$(disagree)" = 0 ] || fail "disk-full-at-start: tokens lost"
note disk-full-at-start "exit 3, \"$msg\", 0 requests sent, 0 tokens lost" sent0_lost0
recover disk-full-at-start

# 2. The disk fills up during the run (limit = the store's size, the WAL grows into it): the
# leases commit, a later commit fails. The engine then keeps the answers (a new refresh token
# first) in memory and retries the store for up to lease_seconds (12 s here), sending nothing
# new. Limits are tried upwards until a run fails midway. MODE:
#   freed  the space comes back while it retries (the limit is lifted on the running keeper
#          with prlimit --pid): every held answer is stored, nothing lost, even with no grace
#   full   the disk stays full: it gives up naming the accounts, their in-flight markers stay;
#          the next run resends them: with a grace period 0 lost, without at most those lost
midrun() { # GRACE MODE -> sets mid_lost mid_held mid_limit mid_sent mid_rc mid_secs
	idp_config "{\"grace\": $1}"
	sz=$(stat -c %s "$STORE")
	mid_limit=""
	for add in 0 0 0 4096 4096 8192 8192 12288 16384 20480 24576 32768; do
		before=$(sent)
		rm -f "$T/bg.out" "$T/bg.err"
		# soft limit only, so that it can be lifted on the running process; the keeper's
		# output goes to files far smaller than the limit
		(trap '' XFSZ; exec prlimit --fsize=$((sz + add)):unlimited "$OAUTHTOP" --config "$T/cfg.json" \
			refresh --all --force) >"$T/bg.out" 2>"$T/bg.err" &
		bg=$!
		t0=$(date +%s)
		while kill -0 $bg 2>/dev/null && ! grep -q 'store unavailable' "$T/bg.err"; do sleep 0.1; done
		if grep -q 'store unavailable' "$T/bg.err"; then mid_limit=$add; break; fi
		wait $bg
		rc=$?
		[ $rc = 0 ] || [ $rc = 3 ] || fail "disk-full-mid-run: exit $rc"
		[ $rc = 3 ] && [ "$(disagree)" != 0 ] && fail "disk-full-mid-run: failed before sending yet lost tokens"
	done
	[ -n "$mid_limit" ] || return 1
	mid_held=$(sed -n 's/.*retrying for up to.*(\([0-9]*\) pending).*/\1/p' "$T/bg.err" | head -1)
	[ -n "$mid_held" ] || mid_held=0
	if [ "$2" = freed ]; then
		sleep 1
		prlimit --pid $bg --fsize=unlimited:unlimited || fail "disk-full-mid-run: cannot lift the limit"
	fi
	wait $bg
	mid_rc=$?
	mid_secs=$(($(date +%s) - t0))
	mid_sent=$(($(sent) - before))
	cp "$T/bg.out" "$T/out"
	cp "$T/bg.err" "$T/err"
	grep -q 'disk I/O error\|disk is full' "$T/err" || fail "disk-full-mid-run: message: $(cat "$T/err")"
	grep -q 'seed-\|rt-s[0-9]\|at-s[0-9]\|A1-s\|test-secret' "$T/out" "$T/err" && fail "disk-full-mid-run: a token in the output"
	if [ "$2" = freed ]; then
		mid_lost=$(disagree) # no next run needed
	else
		grep -q 'GAVE UP' "$T/err" || fail "disk-full-mid-run: no GAVE UP line: $(tail -3 "$T/err")"
		ot refresh --all --force >"$T/out" 2>"$T/err"
		mid_lost=$(disagree)
	fi
	return 0
}
reimport_reauth() { # the accounts that need reauthorization, imported again (the operator)
	for a in $(sql "SELECT account FROM credentials WHERE last_outcome = 3"); do
		idp_admin POST /admin/seed "{\"family\":\"$a\",\"refresh_token\":\"seed2-$a\"}" >/dev/null
		import_seed "$a" 3600 "seed2-$a"
	done
}
if midrun 0 freed; then
	[ "$mid_lost" = 0 ] || fail "disk-full-mid-run (space back): $mid_lost accounts lost"
	[ "$(idp_stat double_spend)" = 0 ] || fail "disk-full-mid-run (space back): a token resent"
	note disk-full-mid-run-space-back "no grace: $mid_held answers held in memory while the store failed, all stored once the space came back (exit $mid_rc after $mid_secs s, $mid_sent requests, none resent), 0 accounts lost" \
		"held${mid_held}_lost0_nograce"
	recover disk-full-mid-run-space-back
else
	note disk-full-mid-run-space-back "no limit made a run fail midway" skipped
fi
if midrun 30 full; then
	[ "$mid_lost" = 0 ] || fail "disk-full-mid-run (stays full): $mid_lost accounts lost with a 30 s grace period"
	[ "$(idp_stat reuse_detected)" = 0 ] || fail "disk-full-mid-run (stays full): reuse detected with grace"
	note disk-full-stays-full-grace30 "gave up after $mid_secs s (exit $mid_rc) with $mid_held answers unstored; the next run resent them inside the grace period: 0 accounts lost" \
		"held${mid_held}_lost0"
	recover disk-full-stays-full-grace30
	if [ "$QUICK" = 0 ] && midrun 0 full; then
		[ "$mid_lost" -le "$mid_held" ] || fail "disk-full-mid-run, no grace: $mid_lost lost > $mid_held unstored"
		note disk-full-stays-full-nograce "gave up after $mid_secs s with $mid_held answers unstored: $mid_lost accounts lost (bound $mid_held)" \
			"lost${mid_lost}_bound$mid_held"
		reimport_reauth
		idp_config '{"grace": 0}'
		recover disk-full-stays-full-nograce
	fi
else
	note disk-full-stays-full "no limit made a run fail midway" skipped
fi
idp_config '{"grace": 0}'

# 3. Another process holds the store's write lock past the busy timeout (5 s).
rm -f "$T/locked"
{ printf 'BEGIN EXCLUSIVE;\n.print locked\n'; sleep "$HOLD"; printf 'COMMIT;\n'; } |
	sqlite3 "$STORE" >"$T/locked" 2>&1 &
L=$!
OT_PIDS="$OT_PIDS $L"
wait_file "$T/locked" 50 || fail "locked: sqlite3 did not take the lock"
before=$(sent)
t0=$(date +%s)
faulty locked 'locked by another process' ot refresh --all --force
waited=$(($(date +%s) - t0))
[ "$(sent)" = "$before" ] || fail "locked: $(($(sent) - before)) requests sent"
[ "$(disagree)" = 0 ] || fail "locked: tokens lost"
note locked "exit 3 after ${waited} s, \"$msg\", 0 requests sent, 0 tokens lost" "sent0_lost0_waited${waited}s"
wait $L
recover locked

# 4. The store file replaced by garbage (the good one kept aside, as a backup would be).
cp "$STORE" "$T/good.db"
head -c 65536 /dev/urandom >"$STORE"
cp "$STORE" "$T/garbage"
before=$(sent)
faulty garbage 'not an oauthtop store\|not a database\|file is not' ot refresh --all --force
[ "$(sent)" = "$before" ] || fail "garbage: $(($(sent) - before)) requests sent"
cmp -s "$STORE" "$T/garbage" || fail "garbage: the file was modified or replaced"
faulty garbage-status 'not an oauthtop store\|not a database\|file is not' ot status
cmp -s "$STORE" "$T/garbage" || fail "garbage: status modified the file"
note garbage "exit 3, \"$msg\", 0 requests sent, the file left untouched" sent0_untouched
rm -f "$STORE-wal" "$STORE-shm"
cp "$T/good.db" "$STORE"
recover garbage

# 5. The state directory not writable, as an unprivileged user (root ignores modes).
as_user=""
if [ "$(id -u)" != 0 ]; then
	as_user=" "
elif command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
	as_user="setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups --"
elif command -v runuser >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
	as_user="runuser -u nobody --"
fi
if [ -z "$as_user" ]; then
	note read-only-dir "no way to run as an unprivileged user" skipped
elif ! $as_user true 2>/dev/null; then
	note read-only-dir "cannot switch to an unprivileged user ($as_user)" skipped
elif ! $as_user test -x "$OAUTHTOP"; then
	note read-only-dir "the unprivileged user cannot run $OAUTHTOP" skipped
else
	U="$T/u"
	mkdir -p "$U/state"
	cp "$T/secret" "$U/secret"
	sed -e "s|$T/state/|$U/state/|" -e "s|$T/secret|$U/secret|" "$T/cfg.json" >"$U/cfg.json"
	cp "$STORE" "$U/state/oauthtop.db"
	chmod 0700 "$U/state"
	chmod 0600 "$U/state/oauthtop.db" "$U/secret" "$U/cfg.json"
	if [ "$(id -u)" = 0 ]; then
		chmod 0711 "$T"
		chown -R nobody "$U"
	fi
	ustore="$U/state/oauthtop.db"
	uot() { $as_user "$OAUTHTOP" --config "$U/cfg.json" "$@"; }
	expect_rc 0 uot status
	chmod 0500 "$U/state"
	before=$(sent)
	faulty read-only-dir 'readonly\|read-only\|ermission\|unable to open' uot refresh --all --force
	[ "$(sent)" = "$before" ] || fail "read-only-dir: $(($(sent) - before)) requests sent"
	chmod 0700 "$U/state"
	STORE=$ustore
	[ "$(disagree)" = 0 ] || fail "read-only-dir: tokens lost"
	note read-only-dir "as $($as_user id -un): exit 3, \"$msg\", 0 requests sent, 0 tokens lost" sent0_lost0
	expect_rc 0 uot refresh --all --force
	grep -q "^refresh: $ACCOUNTS refreshed, 0 failed" "$T/out" || fail "read-only-dir: recovery: $(tail -1 "$T/out")"
	[ "$(disagree)" = 0 ] || fail "read-only-dir: $(disagree) accounts disagree after recovery"
	chmod 0700 "$T"
fi

line="store-faults: accounts=$ACCOUNTS$figures invalid_grant_total=$(idp_stat invalid_grant)"
echo "$line"
[ -n "$RESULTS" ] && echo "$line" >>"$RESULTS"
exit 0
