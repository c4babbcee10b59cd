#!/bin/sh
# bench/run.sh - every benchmark, run by `make bench` (after ./oauthtop, build/oauthtop-idp and
# build/bench/* are built); writes BENCHMARKS.md at the repository root.
#
#   sh bench/run.sh            the default grid, about 10 minutes on 2 cores
#   BENCH_FULL=1 sh bench/run.sh   adds the 30-second runs (N=10000 at 100 ms with C=32), the
#                              curl+jq loop at 1000 accounts (~2-3 min: jq alone starts in
#                              ~50 ms) and the sequential contenders at 0 and 100 ms
#
# Environment (the grid can be narrowed for a smoke test: BENCH_NS, BENCH_LATS, BENCH_CS,
# BENCH_SEQ_NS, BENCH_TLS_NS): BENCH_REPS (5: runs per figure; medians, min and max), BENCH_OUT (BENCHMARKS.md),
# BENCH_CONSOLE_NS ("1000 10000 100000"), BENCH_PROFILE (1: a perf profile when the client CPU
# per refresh misses 100 µs), OAUTHTOP / OT_IDP / BENCH_BIN as in bench/refresh-fanout.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
: "${OAUTHTOP:=$root/oauthtop}" "${OT_IDP:=$root/build/oauthtop-idp}" "${BENCH_BIN:=$root/build/bench}"
: "${BENCH_REPS:=5}" "${BENCH_OUT:=$root/BENCHMARKS.md}" "${BENCH_FULL:=0}" "${BENCH_PROFILE:=1}"
: "${BENCH_CONSOLE_NS:=1000 10000 100000}" "${BENCH_NS:=100 1000 10000}" "${BENCH_LATS:=0 20 100}"
: "${BENCH_TOKEN_RUNS:=100}" "${BENCH_CS:=32 128 512}" "${BENCH_SEQ_NS:=100 1000}"
: "${BENCH_CURL_NS:=100}" "${BENCH_TLS_NS:=100 1000}"
export OAUTHTOP OT_IDP BENCH_BIN

work=$(mktemp -d "${TMPDIR:-/tmp}/oauthtop-bench.XXXXXX") || exit 1
keep=1
trap '[ "$keep" = 0 ] && rm -rf "$work"; [ "$keep" = 1 ] && echo "bench: failed; runs so far kept in $work" >&2' EXIT
trap 'exit 130' INT TERM
raw=$work/refresh.tsv
rawtls=$work/tls.tsv
out=$work/BENCHMARKS.md
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say() { echo "bench: $* ($(($(date +%s) - t_start)) s)" >&2; }

skip="10000:100:32"
seq_lat=20
[ "$BENCH_FULL" = 1 ] && skip=""

# 1. refresh fan-out, the whole grid in one server and one raw file
say "refresh fan-out: N 100 1000 10000 x latency 0 20 100 ms x C 32 128 512, $BENCH_REPS runs each"
sh "$here/refresh-fanout" -n "$BENCH_NS" -l "$BENCH_LATS" -c "$BENCH_CS" -r "$BENCH_REPS" \
	--skip "$skip" --raw "$raw" >/dev/null || { echo "bench: refresh fan-out failed" >&2; exit 1; }
[ "$BENCH_FULL" = 1 ] && BENCH_CURL_NS=$BENCH_SEQ_NS
say "sequential contenders, once at $seq_lat ms: --concurrency 1 at N $BENCH_SEQ_NS, curl+jq at N $BENCH_CURL_NS"
sh "$here/refresh-fanout" -n "$BENCH_SEQ_NS" -l "$seq_lat" -c 1 -r 1 --raw "$raw" >/dev/null &&
	sh "$here/refresh-fanout" -n "$BENCH_CURL_NS" -l "$seq_lat" -c curl -r 1 --raw "$raw" >/dev/null ||
	{ echo "bench: sequential contenders failed" >&2; exit 1; }
if [ "$BENCH_FULL" = 1 ]; then
	sh "$here/refresh-fanout" -n 100 -l "0 100" -c "curl 1" -r 1 --raw "$raw" >/dev/null ||
		{ echo "bench: sequential contenders failed" >&2; exit 1; }
fi

# 2. connection reuse over HTTPS
say "connection reuse: HTTPS, N 100 1000, 20 ms, C 32 128 512"
sh "$here/tls-reuse.sh" -n "$BENCH_TLS_NS" -l 20 -c "$BENCH_CS" -r "$BENCH_REPS" --raw "$rawtls" \
	>/dev/null || { echo "bench: tls-reuse failed" >&2; exit 1; }

# 3. token fast path
say "token fast path"
sh "$here/token-path.sh" -r "$BENCH_TOKEN_RUNS" --md >"$work/token.md" || { echo "bench: token-path failed" >&2; exit 1; }

# 4. console at scale
: >"$work/console.txt"
if [ -x "$BENCH_BIN/console-frame" ]; then
	for n in $BENCH_CONSOLE_NS; do
		say "console at $n accounts"
		OT_BENCH_ACCOUNTS=$n "$BENCH_BIN/console-frame" >"$work/console-$n.txt" 2>&1 ||
			echo "(console-frame failed at $n accounts, exit $?)" >>"$work/console-$n.txt"
	done
fi

# 5. the profile, when the client CPU per refresh misses its target
cpu_at0=$(awk '$1 == "refresh" && $2 == "oauthtop" && $3 > 1 && $5 == 0 { s += ($9 + $10) / $4; n++ }
	END { if (n) printf "%.0f", s / n * 1e6; else print 0 }' "$raw")
: >"$work/profile.txt"
if [ "$BENCH_PROFILE" = 1 ] && [ "$cpu_at0" -gt 100 ] && command -v perf >/dev/null 2>&1; then
	say "profile: perf record --call-graph dwarf, N 5000, 0 ms, C 512"
	BENCH_WRAP="perf record -q -F 1000 --call-graph dwarf,16384 -o $work/perf.data --" \
		sh "$here/refresh-fanout" -n 5000 -l 0 -c 512 -r 1 --raw "$work/perf.tsv" >/dev/null 2>&1
	if [ -s "$work/perf.data" ]; then
		{
			echo "by library (self time, no unwinding needed):"
			perf report -i "$work/perf.data" --comm oauthtop-full --no-children --sort dso -g none 2>/dev/null |
				grep -v '^#' | grep -v '^$' | head -8
			echo
			echo "by function, callees included (DWARF unwinding; samples that could not be unwound"
			echo "count in no function: compare the main row with 100 %):"
			perf report -i "$work/perf.data" --comm oauthtop-full --children --sort sym -g none 2>/dev/null |
				grep -E '\] (main|ot_engine_step|eng_[a-z_]+|ot_store_[a-z_]+|commit_one|cred_[a-z_]+|lease_[a-z_]+|event_insert|stmt_[a-z_]+|sqlite3_prepare_v[23]|sqlite3_step|curl_multi_perform|ot_http_[a-z_]+|ot_token_[a-z]+|ot_fingerprint|__GI_fdatasync|__libc_send|__libc_recv|__libc_connect|__libc_pwrite64|_int_malloc|cJSON_ParseWithLengthOpts|on_result)( \(inlined\))?$' |
				awk '!seen[$NF $(NF-1)]++' | head -40
		} >"$work/profile.txt"
	fi
fi

# The reading of the figures: what limits each one and the fixes (engine and CLI owners).
findings() {
	cat <<'EOF'
## 7. Findings: what limits each figure, and the fixes

**Fan-out wall time vs the ideal.** The "CPU floor" column is the least wall time the CPU
allows: the client's CPU (one thread) or the client's plus the server's CPU spread over the
cores, whichever is larger (other tenants not counted). Where it exceeds the ideal (marked
CPU-bound) the machine's CPU is the limit, not the concurrency: on 2 shared cores client and
test server together manage four to six thousand refreshes a second, so the ideal cannot be
reached with C=128/512 at 0-20 ms. The sequential `--concurrency 1` run is within a few % of
N x latency. At the default C=32 and 20 ms the engine is 8-17 % above the ideal over the
runs of sessions 2 and 3 (N=1000: +13 % to +16 %; N=2000: +13 % to +17 %; N=10000: +8 % to
+11 %), 28-31x the sequential run (the issue's form of the target: >= 27x): a freed slot is
refilled from the leased-ahead pool before the finished answers are parsed and committed, so
the per-wave CPU overlaps the next wave's latency. What is left is fixed cost (process start
~25 ms of CPU: two execs and libcurl's 40 shared libraries; the WAL checkpoint on close
~10-15 ms) and ~2 ms per wave of client and server CPU on 2 shared cores.

**Client CPU per refresh (target < 100 µs): missed, and below what libcurl and the durable
store cost together on this machine.** The last three columns of the fan-out table say why.
"libcurl floor/request" is bench/curl-floor --socket: the same N POSTs to the same server over
C keep-alive connections, libcurl driven exactly as src/core/http.c drives it
(`curl_multi_socket_action` over epoll), without parsing, storage or bookkeeping: ~50-80 µs
at 0 ms and ~80-90 µs at 20 ms on this 2-core VM (user and sys about equal: on loopback the
sender's system call also runs the receiver's TCP stack). "store floor/refresh" is
bench/store-floor: the store alone, no HTTP, leasing and committing N refreshes (two new
1 KB tokens and a history event each, WAL, synchronous=FULL, one transaction per group of C,
the largest group that can finish at once): ~55-65 µs; ~90 µs in groups of 5, ~210 µs one by
one. Their sum, "floor sum", is 115-150 µs: more than the target before oauthtop adds anything
(answer parsing, fingerprints, the engine's bookkeeping, wake-ups). oauthtop measures about
1.1-1.8x that sum (the most at 20 ms and C=32, where each wake-up brings ~5 answers and
commits them in a transaction of their own). Done over the rounds (each in its commit message with before/after):
libcurl through `curl_multi_socket_action` over epoll instead of `curl_multi_perform` + poll
(-15 %), one send(2) per request, token checks in one 8-byte-wide pass and a direct reader
for flat JSON answers (fuzzed against cJSON), fingerprints computed once, engine jobs without
a full credential each, result lines flushed once per step, a step's commit and its next lease
batch in one transaction. Tried and reverted: group commit with a delay (under latency the
answers arrive a few per wake-up, ~5 at 20 ms and C=32, each wake-up a transaction and a
sync; letting a step's results wait up to 10 ms for more cut fdatasync per 2000 refreshes
from 409 to 153 and the CPU per refresh by 15 %, wall time unchanged), because DESIGN §3
step 4 commits a rotated refresh token immediately: the wait widens the window in which a
crash loses one several times over, the very failure this tool exists to prevent;
tests/e2e/test_refresh_commit_now.sh now fails on such a delay. Under 100 µs would need an
HTTP client cheaper than libcurl's own floor here or a store that does not sync each group of rotated tokens to disk; the brief asks for libcurl
and SQLite, and a rotated refresh token lost in a power cut is an outage. A write-gathering
SQLite VFS (one pwrite per commit) was tried and reverted: within the noise end to end.

**Connection reuse.** Keep-alive works: handshakes per refresh equal connections / N and the
client opens about C connections (one per request in flight), so the floor is C/N: ~0.03 at
N=1000 with the default C=32 (target met), ~0.13 at C=128 and ~0.5 at C=512 (above 0.1
because that many requests are in flight at once, not because connections are dropped).
TLS session resumption cannot show here: the test server keeps no session cache and issues
no tickets, so every connection is a full handshake; at high C the server's GnuTLS handshakes
dominate its CPU.

**Token fast path (target within 2x of the sqlite3 floor).** The cost was before `main`: an
empty program linked with libcurl starts 2-3x slower than one linked with sqlite3 + cJSON +
libcrypto (libcurl pulls ~30 shared libraries: TLS, SSH, LDAP, Kerberos, IDN, RTMP, HTTP/2,
brotli), while ncurses and qrencode add little — so a separate console executable alone would
not have met the target. The build now has two executables (eb2b4dc): a lean `oauthtop` (5-7
libraries) that serves status, import, history, check and a fresh token itself, and execs
`oauthtop-full` for whatever needs the network or the terminal. Section 3 shows both: the
lean path near the floor, the same command in `oauthtop-full` at ~3-4x. The price is one exec
(~3 ms) on the network paths, nothing beside a token request; a lazily `dlopen`ed libcurl
would have kept one file but needs every `curl_*` call through a table of pointers.

**Test server.** With one libmicrohttpd 0.9.75 thread (`--threads 1`), at N=10000 and C=128
the server sometimes stops reading ~127 keep-alive connections whose requests sit in its
receive queues (seen with `ss`: Recv-Q 276 on the server side, clients idle) until the
client's 30 s total timeout fires; the bench runs it with `--threads 2`, where it does not
happen. For the test-server owner: tests/idp/http.c, `MHD_USE_EPOLL_INTERNAL_THREAD` with
suspend/resume.
EOF
}

# --- BENCHMARKS.md ---
t_end=$(date +%s)
cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)
commit=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(cd "$root" && git status --porcelain src include 2>/dev/null)" ] && commit="$commit + uncommitted changes in src/ or include/"
{
	echo "# oauthtop benchmarks"
	echo
	echo "Written by \`make bench\` (bench/run.sh) — do not edit by hand; re-run it."
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $((t_end - t_start)) s for the whole run"
	echo "- Machine: $(nproc) cores ($cpu_model), $mem RAM, $(uname -sr); load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
	echo "- **Noise:** the machine is shared (other builds and tests run beside); every figure is the median of $BENCH_REPS runs with min and max; wall times are the most affected, CPU times much less."
	echo "- Token server: build/oauthtop-idp (libmicrohttpd, 2 threads, --token-bytes 1024: 1 KB tokens), injected latency without blocking, on the same 2 cores as the client."
	echo "- Each fan-out run starts from a copy of the same store (N accounts due, 1 KB access tokens, refresh tokens \`seed-NAME\`: new families on a reset server) and is checked: the server counts N successful refreshes and no refresh token presented twice."
	echo "- Wall time: fork to exit of the whole command (process start, configuration, store, leases, requests, durable commits, output) measured by bench/rusage.c; CPU: user+sys of the client and its children (getrusage); server CPU: /proc/PID/stat of the token server over the run; peak RSS: ru_maxrss."
	echo
	echo "## 1. Refresh fan-out"
	echo
	echo "Commands: \`bench/refresh-fanout -n \"100 1000 10000\" -l \"0 20 100\" -c \"32 128 512\" -r $BENCH_REPS\` (\`oauthtop refresh --concurrency C\`, 32 = the default) and, once, \`bench/refresh-fanout -n \"$BENCH_SEQ_NS\" -l $seq_lat -c 1 -r 1\` and \`bench/refresh-fanout -n \"$BENCH_CURL_NS\" -l $seq_lat -c curl -r 1\`: contender (a) \`curl+jq\` = bench/baseline/refresh-loop.sh (the seed's job as a shell loop: one sqlite3 query for the due accounts, then per account curl, one jq, one sqlite3 UPDATE) and (b) \`C=1\` = \`oauthtop refresh --concurrency 1\`."
	echo
	echo "Ideal = ceil(N/C) x latency. \"seq b/this\" and \"curl a/this\" are the ratios of the sequential contenders' wall time to this one's: measured at the N listed and $seq_lat ms; at larger N they are **extrapolated** linearly from the largest N measured (sequential time is N x per-refresh time); at 0 and 100 ms they are **estimated** as N x (latency + the per-refresh overhead measured at $seq_lat ms)."
	[ -n "$skip" ] && echo "Left out of the default run (30 s each, BENCH_FULL=1 runs them): $skip (N:latency:C)."
	echo
	sh "$here/refresh-fanout" --report "$raw" --md
	echo
	echo "### Targets"
	echo
	awk -f - "$raw" <<'AWK'
function med(k,   n, i, j, t, a) { n = cnt[k]; for (i = 1; i <= n; i++) a[i] = v[k, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
$1 == "refresh" { k = $2 SUBSEP $3 SUBSEP $4 SUBSEP $5; v[k, ++cnt[k]] = $8; c[k, cnt[k]] = ($9 + $10) / $4 }
END {
	k = "oauthtop" SUBSEP 32 SUBSEP 1000 SUBSEP 20
	if (k in cnt) { w = med(k); ideal = 32 * 0.020
		printf "- Within 15 %% of the ideal at C=32 (N=1000, 20 ms): %.2f s vs %.2f s ideal = %+.0f %% → %s\n", w, ideal, (w / ideal - 1) * 100, (w <= ideal * 1.15 ? "met" : "**missed**") }
	k = "oauthtop" SUBSEP 32 SUBSEP 10000 SUBSEP 20
	if (k in cnt) { w = med(k); ideal = 313 * 0.020
		printf "- Same at N=10000: %.2f s vs %.2f s ideal = %+.0f %% → %s\n", w, ideal, (w / ideal - 1) * 100, (w <= ideal * 1.15 ? "met" : "**missed**") }
	kb = "oauthtop" SUBSEP 1 SUBSEP 1000 SUBSEP 20; k = "oauthtop" SUBSEP 128 SUBSEP 10000 SUBSEP 20
	if ((kb in cnt) && (k in cnt)) { r = med(kb) * 10 / med(k)
		printf "- At least 80x faster than --concurrency 1 at N=10000, 20 ms, C=128: %.1fx (sequential extrapolated from N=1000: %.1f s) → %s\n", r, med(kb) * 10, (r >= 80 ? "met" : "**missed**") }
	for (kk in cnt) { split(kk, p, SUBSEP); if (p[1] == "oauthtop" && p[4] == 0 && p[3] == 10000) {
		n = cnt[kk]; for (i = 1; i <= n; i++) { s += c[kk, i]; m++ } } }
	if (m) printf "- Client CPU per refresh under 100 µs at 0 ms (N=10000, mean over C and runs): %.0f µs → %s\n", s / m * 1e6, (s / m <= 100e-6 ? "met" : "**missed** (profile in section 6)")
}
AWK
	echo
	echo "## 2. Connection reuse (HTTPS)"
	echo
	echo "Command: \`bench/tls-reuse.sh -n \"100 1000\" -l 20 -c \"32 128 512\" -r $BENCH_REPS\` — the same fan-out over HTTPS (test CA in the provider's ca_file). Handshakes per refresh = the server's \`tls_handshakes\` / N; the server has no session cache or tickets, so every handshake is a full one and the floor with C requests in flight is C/N connections. Target: well under 0.1 at N=1000."
	echo
	sh "$here/refresh-fanout" --report "$rawtls" --md
	echo
	awk '$1 == "refresh" && $2 == "oauthtop" && $4 == 1000 && $6 == 1 { k = $3; v[k] = v[k] " " $13 / $4 }
	END { for (k in v) { n = split(v[k], a, " "); for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		printf "- Handshakes per refresh at N=1000, C=%s: %.3f (floor C/N = %.3f) → %s\n", k, m, k / 1000, (m < 0.1 ? "under 0.1" : "over 0.1") } }' "$rawtls" | sort -t= -k3 -n
	echo
	echo "## 3. Token fast path"
	echo
	echo "Command: \`bench/token-path.sh -r $BENCH_TOKEN_RUNS\` — \`oauthtop token api\` with a fresh 1 KB token (no network) against the same row read by the sqlite3 CLI (\`credentials\` or, schema 2, \`secrets\`), $BENCH_TOKEN_RUNS interleaved runs each."
	echo
	cat "$work/token.md"
	echo
	echo "Where the time goes: \`oauthtop --version\` does no work, so its time is the start of the executable (loading and relocating its shared libraries and running their initialisers). The empty programs show the cost of each set of libraries alone: libcurl brings most of the libraries (TLS, SSH, LDAP, Kerberos, IDN, HTTP/2...). A fresh-token path needs only sqlite3, cJSON and libcrypto. See section 7 for the choice."
	echo
	echo "## 4. Console at scale"
	echo
	echo "Command: \`OT_BENCH_ACCOUNTS=N build/bench/console-frame\` (bench/console-frame.c: first frame, redraw median/p99, memory; 120x40 xterm-256color to /dev/null through curses)."
	echo
	for n in $BENCH_CONSOLE_NS; do
		[ -s "$work/console-$n.txt" ] || continue
		echo "### $n accounts"
		echo
		echo '```'
		cat "$work/console-$n.txt"
		echo '```'
		echo
	done
	echo "## 5. Growth with the fleet"
	echo
	echo "The fan-out figures at each N (median; C=128; per refresh = divided by N):"
	echo
	echo "| latency | N | wall | refreshes/s | client CPU/refresh | server CPU/refresh | peak RSS |"
	echo "|---|---|---|---|---|---|---|"
	awk '$1 == "refresh" && $2 == "oauthtop" && $3 == 128 && $6 == 0 { k = $5 " " $4; if (!(k in n)) ord[++no] = k
		i = ++n[k]; w[k, i] = $8; c[k, i] = ($9 + $10) / $4; s[k, i] = $12 / $4; if ($11 > r[k]) r[k] = $11 }
	function med(a, k,   m, i, j, t, x) { m = n[k]; for (i = 1; i <= m; i++) x[i] = a[k, i]
		for (i = 2; i <= m; i++) { t = x[i]; for (j = i - 1; j >= 1 && x[j] > t; j--) x[j + 1] = x[j]; x[j + 1] = t }
		return m % 2 ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2 }
	END { for (o = 1; o <= no; o++) { k = ord[o]; split(k, p, " ")
		printf "| %s ms | %s | %.2f s | %.0f | %.0f µs | %.0f µs | %.1f MB |\n", p[1], p[2], med(w, k), p[2] / med(w, k), med(c, k) * 1e6, med(s, k) * 1e6, r[k] / 1024 } }' "$raw"
	echo
	echo "Console: see section 4 (first frame, redraw and memory at 1k, 10k, 100k accounts)."
	echo
	echo "## 6. Profile of the client CPU per refresh"
	echo
	if [ -s "$work/profile.txt" ]; then
		echo "\`perf record -F 1000 --call-graph dwarf\` of \`oauthtop refresh --concurrency 512\`, 5000 accounts, 0 ms; \`perf report --children --sort sym\` (share of the client's samples spent in each function and its callees; \"(inlined)\" rows are static functions of src/core/store.c and the engine):"
		echo
		echo '```'
		cat "$work/profile.txt"
		echo '```'
	else
		echo "No profile taken (client CPU per refresh at 0 ms: ${cpu_at0} µs; perf missing or BENCH_PROFILE=0)."
	fi
	echo
	findings
	echo
	echo "## Raw runs"
	echo
	echo "One line per run: \`refresh CONTENDER C N LATENCY_MS TLS REP WALL_S USER_S SYS_S MAXRSS_KB SERVER_CPU_S TLS_HANDSHAKES\`."
	echo
	echo '<details><summary>refresh fan-out and HTTPS runs</summary>'
	echo
	echo '```'
	cat "$raw" "$rawtls"
	echo '```'
	echo '</details>'
} >"$out"
cp "$out" "$BENCH_OUT"
keep=0
say "wrote $BENCH_OUT"
