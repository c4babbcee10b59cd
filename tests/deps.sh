#!/bin/sh
# Installs the Debian packages oauthtop needs, only those pkg-config (or PATH) cannot find.
# Prints what it installs. Uses sudo when not root.
set -e
need=""
want_pc() { pkg-config --exists "$1" 2>/dev/null || need="$need $2"; }
want_cmd() { command -v "$1" >/dev/null 2>&1 || need="$need $2"; }
want_cmd cc gcc
want_cmd make make
want_cmd pkg-config pkg-config
want_pc ncursesw libncurses-dev
want_pc libcurl libcurl4-openssl-dev
want_pc libcjson libcjson-dev
want_pc sqlite3 libsqlite3-dev
want_pc libcrypto libssl-dev
want_pc libmicrohttpd libmicrohttpd-dev
want_pc cmocka libcmocka-dev
want_pc libqrencode libqrencode-dev
want_cmd sqlite3 sqlite3
want_cmd tmux tmux
want_cmd openssl openssl
want_cmd curl curl
want_cmd jq jq
want_cmd groff groff-base
want_cmd promtool prometheus
want_cmd valgrind valgrind
want_cmd clang clang
[ -e /usr/bin/time ] || need="$need time"
ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || need="$need libclang-rt-14-dev"
[ -z "$need" ] && exit 0
echo "make deps: installing:$need"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $need
