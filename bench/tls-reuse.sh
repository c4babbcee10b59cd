#!/bin/sh
# tls-reuse.sh - connection reuse: the refresh fan-out over HTTPS (test CA, the provider's
# ca_file), with TLS handshakes per refresh from the test server's counter (tls_handshakes:
# every one is a full handshake, the server has no session cache or tickets). Target: well
# under 0.1 at N=1000 with keep-alive (and TLS session reuse where the server offers it).
# A keeper with C requests in flight needs at least C connections, so the floor is C/N.
#
#   bench/tls-reuse.sh [-n "N..."] [-l MS] [-c "C..."] [-r REPS] [--raw FILE] [--md]
# Defaults: -n 1000 -l 20 -c "32 128 512" -r 5. Other options go to bench/refresh-fanout.
here=$(cd "$(dirname "$0")" && pwd)
ns=1000 lat=20 conts="32 128 512" reps=5
while [ $# -gt 0 ]; do
	case $1 in
	-n) ns=$2; shift ;;
	-l) lat=$2; shift ;;
	-c) conts=$2; shift ;;
	-r) reps=$2; shift ;;
	*) break ;;
	esac
	shift
done
exec sh "$here/refresh-fanout" --tls -n "$ns" -l "$lat" -c "$conts" -r "$reps" "$@"
