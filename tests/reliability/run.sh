#!/bin/sh
# The reliability runs of RELIABILITY.md (crash storm, racing keepers, store faults), one after
# the other; prints each one's figures line and a last line "reliability: N passed, N failed".
#
# usage: sh tests/reliability/run.sh [--ci] [--results FILE]
#   (default)  the full runs: crash storm 500 accounts x 200 kills with a 30 s grace period and
#              with none, racing keepers for 60 s, store faults with a 30 s lock (~5 min)
#   --ci       the bounded versions run by CI (tests/e2e/test_reliability_*.sh, ~1 min)
# OAUTHTOP and OT_IDP default to the repository's ./oauthtop and build/oauthtop-idp (`make`).
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${OAUTHTOP:=$root/oauthtop}" "${OT_IDP:=$root/build/oauthtop-idp}"
export OAUTHTOP OT_IDP

ci=0
results="${TMPDIR:-/tmp}/oauthtop-reliability.txt"
while [ $# -gt 0 ]; do
	case $1 in
	--ci) ci=1 ;;
	--results) results=$2; shift ;;
	*) echo "usage: run.sh [--ci] [--results FILE]" >&2; exit 2 ;;
	esac
	shift
done
for f in "$OAUTHTOP" "$OT_IDP"; do
	[ -x "$f" ] || { echo "run.sh: $f is missing: run make first" >&2; exit 2; }
done
: >"$results"

pass=0 fail=0 skip=0
run() { # NAME SCRIPT ARGS...
	_name=$1; shift
	echo "== $_name: $*"
	_t0=$(date +%s)
	sh "$here/$@" --results "$results"
	_rc=$?
	_dt=$(($(date +%s) - _t0))
	case $_rc in
	0) pass=$((pass + 1)); echo "ok   $_name (${_dt} s)" ;;
	77) skip=$((skip + 1)); echo "skip $_name" ;;
	*) fail=$((fail + 1)); echo "FAIL $_name (rc $_rc, ${_dt} s)" ;;
	esac
}

echo "reliability on $(uname -sr), $(nproc 2>/dev/null || echo '?') cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
if [ $ci = 1 ]; then
	run crash-storm-grace crash-storm.sh --accounts 500 --kills 20 --grace 30
	run crash-storm-nograce crash-storm.sh --accounts 100 --kills 10 --grace 0 --max-ms 100
	run racing-keepers racing-keepers.sh --seconds 10
	run store-faults store-faults.sh --lock-seconds 11 --quick 1
else
	run crash-storm-grace crash-storm.sh --accounts 500 --kills 200 --grace 30
	run crash-storm-nograce crash-storm.sh --accounts 500 --kills 200 --grace 0
	run racing-keepers racing-keepers.sh --seconds 60
	run store-faults store-faults.sh --lock-seconds 30
fi
echo "figures (also in $results):"
sed 's/^/  /' "$results"
echo "reliability: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
