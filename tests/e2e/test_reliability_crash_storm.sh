#!/bin/sh
# Bounded crash storm (tests/reliability/crash-storm.sh, RELIABILITY.md): 20 SIGKILLs of a
# `refresh --all --force` keeper over 500 accounts on a strict-rotation server with a 30 s
# grace period: 0 accounts lost; then 10 kills over 100 accounts with no grace period: the
# accounts lost are at most the requests in flight at the kills (kills within 100 ms there:
# runs over accounts already lost end quickly).
r=$(cd "$(dirname "$0")/../reliability" && pwd)
sh "$r/crash-storm.sh" --accounts 500 --kills 20 --grace 30 || exit $?
sh "$r/crash-storm.sh" --accounts 100 --kills 10 --grace 0 --max-ms 100
