#!/bin/sh
# Store faults (tests/reliability/store-faults.sh, RELIABILITY.md): disk full at start and
# mid-run (RLIMIT_FSIZE; space back while the keeper retries, or not), the store locked past
# the busy timeout (held 11 s), the file replaced by garbage, the state directory not
# writable (as nobody): a clear error, exit 3, no token lost, and the next run recovers.
exec sh "$(dirname "$0")/../reliability/store-faults.sh" --lock-seconds 11 --quick 1
