#!/bin/sh
# Bounded racing keepers (tests/reliability/racing-keepers.sh, RELIABILITY.md): a
# `refresh --all --force` loop, two daemons and the console pressing R on one store for 10 s
# against a strict-rotation server: zero invalid_grant, zero refresh tokens presented twice.
exec sh "$(dirname "$0")/../reliability/racing-keepers.sh" --seconds 10
