#!/bin/sh
# Runs every tests/e2e/test_*.sh with OAUTHTOP and OT_IDP set; prints "N passed, N failed".
# A test script exits 0 on pass, 77 to skip, anything else on failure.
here=$(cd "$(dirname "$0")" && pwd)
pass=0; fail=0; skip=0; failed=""
logs=$(mktemp -d "${TMPDIR:-/tmp}/oauthtop-e2e.XXXXXX")
for t in "$here"/test_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	log="$logs/$name.log"
	t0=$(date +%s)
	if sh "$t" >"$log" 2>&1; then
		pass=$((pass + 1)); echo "ok   $name ($(( $(date +%s) - t0 )) s)"
	else
		rc=$?
		if [ "$rc" = 77 ]; then
			skip=$((skip + 1)); echo "skip $name: $(tail -n 1 "$log")"
		else
			fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name (rc $rc)"
			sed 's/^/    | /' "$log" | tail -40
		fi
	fi
done
[ "$fail" = 0 ] && rm -rf "$logs"
echo "e2e: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
