#!/bin/sh
# Packaging: the man page renders without warnings and documents every command and option the
# binary has, every configuration key of DESIGN.md §5 and every exit code; `make install`
# installs it with the completions and units; systemd accepts the units; every example
# configuration passes `oauthtop check`; bash (and, when installed, zsh) completion completes
# commands, each command's options and account names.
# groff and bash are required; systemd-analyze and zsh are used when present (a note says when
# a part is skipped).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
note() { echo "note: $*"; }
[ -x "${OAUTHTOP:-}" ] || fail "OAUTHTOP is not set to the built binary"

# The commands the binary has, and the --options each one's --help names (commands still
# missing from this build say "not available" and are left out).
"$OAUTHTOP" --help >"$T/help" || fail "oauthtop --help"
commands=$(sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p' "$T/help")
[ -n "$commands" ] || fail "no command list in oauthtop --help"
cmd_options() { # command -> its --options, one per line (global ones left out)
	"$OAUTHTOP" "$1" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' |
		grep -v -x -e --help -e --config -e --store | sort -u
}
available=""
for c in $commands; do
	if "$OAUTHTOP" "$c" --help >/dev/null 2>&1; then
		available="$available $c"
	else
		note "oauthtop $c --help failed: its options are not checked"
	fi
done

# 1. The man page: no groff warnings, and it documents what the binary and DESIGN.md have.
command -v groff >/dev/null || fail "groff is not installed (Debian: groff-base)"
MAN="$ROOT/doc/oauthtop.1"
groff -ww -man -Tutf8 "$MAN" >"$T/man.txt" 2>"$T/groff.err"
[ -s "$T/groff.err" ] && { cat "$T/groff.err"; fail "groff -ww -man warns"; }
if command -v man >/dev/null; then
	MANWIDTH=80 man --warnings -l "$MAN" >/dev/null 2>"$T/man.err"
	[ -s "$T/man.err" ] && { cat "$T/man.err"; fail "man --warnings complains"; }
fi
# Plain text without overstrikes or escapes, hyphenation off, so words can be searched.
groff -man -Tascii -P-cbou -rHY=0 "$MAN" 2>/dev/null >"$T/man.plain"
in_man() { grep -q -F -- "$1" "$T/man.plain" || fail "the man page does not mention $1"; }
for s in NAME SYNOPSIS DESCRIPTION COMMANDS "GLOBAL OPTIONS" CONFIGURATION "HEALTH STATES" \
	"EXIT STATUS" ENVIRONMENT FILES SECURITY EXAMPLES "SEE ALSO"; do
	grep -q "^$s\$" "$T/man.plain" || fail "the man page has no $s section"
done
for c in $commands; do
	grep -q "^   oauthtop \(\[\)\{0,1\}$c" "$T/man.plain" || fail "the man page has no oauthtop $c"
done
for c in $available; do
	for o in $(cmd_options "$c"); do in_man "$o"; done
done
for o in --config --store --help --version; do in_man "$o"; done
# Every key of DESIGN.md §5's table (the part after the last '.' of providers.NAME.x).
# shellcheck disable=SC2016 # backquotes are Markdown
keys=$(sed -n '/^## 5\./,/^## 6\./p' "$ROOT/doc/DESIGN.md" | grep '^| `' | cut -d'|' -f2 |
	grep -o '`[^`]*`' | tr -d '`' | sed 's/.*\.//; s/^accounts\[i\]//' | grep -v '^$' | sort -u)
[ "$(echo "$keys" | wc -l)" -gt 30 ] || fail "could not read DESIGN.md §5 keys: $keys"
for k in $keys; do in_man "$k"; done
for s in disabled reauth failing expired due ok reauth_soon; do in_man "$s"; done
# shellcheck disable=SC2088 # literal text, not paths
for v in OAUTHTOP_CONFIG XDG_CONFIG_HOME XDG_STATE_HOME NO_COLOR OAUTHTOP_SCRIPT HTTPS_PROXY \
	NO_PROXY OAUTHTOP_ACCOUNT OAUTHTOP_PROVIDER OAUTHTOP_OLD_STATE OAUTHTOP_NEW_STATE \
	OAUTHTOP_REASON OAUTHTOP_EVENT /etc/oauthtop/config.json '~/.config/oauthtop/config.json' \
	'~/.local/state/oauthtop/oauthtop.db' '/share/oauthtop/themes/*.theme' \
	oauthtop_access_token_expiry_timestamp_seconds oauthtop_account_state \
	oauthtop_keeper_heartbeat_timestamp_seconds oauthtop_status_generated_timestamp_seconds; do
	in_man "$v"
done
sed -n '/^EXIT STATUS/,/^ENVIRONMENT/p' "$T/man.plain" >"$T/exit.txt"
for n in 0 1 2 3; do grep -q "^       $n  " "$T/exit.txt" || fail "EXIT STATUS has no $n"; done
echo "man page: ok"

# 2. make install puts the man page, the completions and the units in place (the binary is
# the one under test, never rebuilt here).
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$ROOT" --no-print-directory -s install DESTDIR="$T/root" PREFIX=/usr/local \
	BIN="$OAUTHTOP" -o "$OAUTHTOP" -o "$OAUTHTOP-full" >"$T/install.log" 2>&1 || {
	cat "$T/install.log"; fail "make install"; }
P="$T/root/usr/local"
for f in bin/oauthtop libexec/oauthtop/oauthtop-full share/man/man1/oauthtop.1 share/bash-completion/completions/oauthtop \
	share/zsh/site-functions/_oauthtop lib/systemd/system/oauthtop.service \
	lib/systemd/system/oauthtop-refresh.service lib/systemd/system/oauthtop-refresh.timer; do
	[ -f "$P/$f" ] || fail "make install did not install $f"
done
cmp -s "$P/share/man/man1/oauthtop.1" "$MAN" || fail "installed man page differs"
echo "make install: ok"

# 3. The systemd units: the promised settings, and systemd-analyze verify accepts them.
U="$ROOT/contrib/systemd"
has() { grep -q -x -- "$2" "$U/$1" || fail "$1 lacks $2"; }
for u in oauthtop.service oauthtop-refresh.service; do
	for d in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
		StateDirectory=oauthtop StateDirectoryMode=0700 ConfigurationDirectory=oauthtop \
		LimitCORE=0 UMask=0077 MemoryDenyWriteExecute=yes SystemCallFilter=@system-service \
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" User=oauthtop; do
		has "$u" "$d"
	done
	stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s*$/\1/p' "$U/$u")
	[ -n "$stop" ] && [ "$stop" -gt 30 ] || fail "$u: TimeoutStopSec must exceed timeouts.total (30 s)"
done
has oauthtop.service "ExecStart=/usr/local/bin/oauthtop daemon --config /etc/oauthtop/config.json --store /var/lib/oauthtop/oauthtop.db"
# shellcheck disable=SC2016 # the unit's own text
has oauthtop.service 'ExecReload=/bin/kill -HUP $MAINPID'
has oauthtop.service Restart=on-failure
has oauthtop.service KillSignal=SIGTERM
has oauthtop-refresh.service Type=oneshot
has oauthtop-refresh.service "SuccessExitStatus=1 2"
has oauthtop-refresh.service "ExecStart=/usr/local/bin/oauthtop refresh --config /etc/oauthtop/config.json --store /var/lib/oauthtop/oauthtop.db"
has oauthtop-refresh.timer OnCalendar=minutely
if command -v systemd-analyze >/dev/null; then
	mkdir "$T/units"
	# verify needs ExecStart's binary to exist: point it at the one under test.
	for f in "$U"/*.service "$U"/*.timer; do
		sed "s|/usr/local/bin/oauthtop|$OAUTHTOP|" "$f" >"$T/units/${f##*/}"
	done
	# Documentation=man:oauthtop(1) is looked up with man: find the installed page.
	manopt=""; command -v man >/dev/null || manopt=--man=no
	(cd "$T/units" && MANPATH="$P/share/man:" systemd-analyze verify $manopt ./oauthtop.service \
		./oauthtop-refresh.service ./oauthtop-refresh.timer) >"$T/verify.out" 2>&1
	rc=$?
	[ "$rc" = 0 ] && [ ! -s "$T/verify.out" ] || {
		cat "$T/verify.out"; fail "systemd-analyze verify: exit $rc"; }
	echo "systemd units: ok"
else
	note "systemd-analyze is not installed: systemd-analyze verify skipped"
fi

# 4. Every example configuration passes `oauthtop check` (warnings allowed, never an error).
vars=$(jq -r '.. | objects | .client_secret_env? // empty' "$ROOT"/examples/*.json | sort -u)
for v in $vars; do export "$v=example-secret-not-real"; done
n=0
mkdir -m 700 "$T/ex"
for f in "$ROOT"/examples/*.json; do
	name=${f##*/}
	"$OAUTHTOP" --config "$f" --store "$T/ex/${name%.json}.db" check >"$T/out" 2>&1
	rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 1 ] || { cat "$T/out"; fail "check $name exited $rc"; }
	grep -q "example-secret-not-real" "$T/out" && fail "check $name printed a secret"
	grep -q -F "\`$name\`" "$ROOT/examples/README.md" || fail "examples/README.md misses $name"
	n=$((n + 1))
done
[ "$n" -ge 7 ] || fail "only $n example configurations"
for p in keycloak entra google salesforce okta auth0 generic; do
	[ -f "$ROOT/examples/$p.json" ] || fail "no examples/$p.json"
done
echo "examples: $n pass oauthtop check"

# 5. bash completion: loads, completes commands, per-command options (the same as the
# binary's --help), option values, and account names from --config, with and without jq.
command -v bash >/dev/null || fail "bash is not installed"
mkdir "$T/nojq"
for t in grep sed sort cat tr; do ln -s "$(command -v $t)" "$T/nojq/$t"; done
cat >"$T/comp.bash" <<'EOF'
. "$ROOT/contrib/completion/oauthtop.bash"
complete -p oauthtop | grep -q -- '-F _oauthtop oauthtop$' || { echo "complete -p: no _oauthtop"; exit 1; }
# comp WORD... : completes the last word; prints the candidates on one line, sorted.
comp() {
	COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
	_oauthtop oauthtop "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
want() { # expected, then the words
	local w=$1 got; shift
	got=$(comp "$@")
	[[ $got == "$w" ]] || { echo "completing [$*]: got [$got], want [$w]"; exit 1; }
}
cd "$ROOT"
want status oauthtop sta
want "check" oauthtop --config=examples/okta.json ch
want "check" oauthtop --config = examples/okta.json ch
want "$(printf '%s\n' $COMMANDS help | sort | tr '\n' ' ' | sed 's/ $//')" oauthtop ""
gen="billing-api billing-api.eu legacy-crm nightly-export support_tool"
want "$gen" oauthtop --config examples/generic.json token ""
want "$gen" oauthtop --config=examples/generic.json history ""
want "hr-directory inventory-api" oauthtop refresh --config examples/okta.json ""
want "inventory-api" oauthtop --config examples/okta.json refresh hr-directory ""
want "orders-api orders-batch" oauthtop --config examples/auth0.json import ""
OAUTHTOP_CONFIG=examples/google.json want "drive-export" oauthtop authorize ""
want "prometheus" oauthtop status --format p
want "json prometheus table" oauthtop status --format=""
want "json table" oauthtop history --format ""
want "json text" oauthtop daemon --log-format ""
mkdir -p "$THEMES" && : >"$THEMES/solarized.theme"
# Themes: the built-in ones and those in $OAUTHTOP_THEME_DIR (installed ones may add more).
got=" $(OAUTHTOP_THEME_DIR=$THEMES comp oauthtop tui --theme "") "
for th in default mono solarized; do
	[[ $got == *" $th "* ]] || { echo "theme completion: no $th in [$got]"; exit 1; }
done
want "--all --concurrency --config --force --help --store" oauthtop refresh --
want "--config --help --store --version" oauthtop --
want "" oauthtop token billing-api --config examples/generic.json ""
want "" oauthtop --config examples/generic.json authorize --scope ""
want "$gen" oauthtop --config examples/generic.json authorize --port 8765 ""
# A mid-line cursor: the account before a later --config.
COMP_WORDS=(oauthtop token "" --config examples/auth0.json); COMP_CWORD=2; COMPREPLY=()
_oauthtop; [[ "${COMPREPLY[*]}" == "orders-api orders-batch" ]] || { echo "mid-line: ${COMPREPLY[*]}"; exit 1; }
# Each command's options are those its --help names.
for c in $AVAILABLE; do
	w=$(printf '%s\n' $(eval "echo \$OPTS_$c") --config --store --help | sort | tr '\n' ' ' | sed 's/ $//')
	want "$w" oauthtop "$c" --
done
# Without jq the names come from grep.
PATH=$NOJQ
command -v jq >/dev/null && { echo "jq still on PATH"; exit 1; }
want "$gen" oauthtop --config examples/generic.json verify ""
want "hr-directory inventory-api" oauthtop --config examples/okta.json revoke ""
echo ok
EOF
export ROOT THEMES="$T/themes" COMMANDS="$commands" AVAILABLE="$available" NOJQ="$T/nojq"
for c in $available; do export "OPTS_$c=$(cmd_options "$c" | tr '\n' ' ')"; done
bash --norc --noprofile "$T/comp.bash" >"$T/comp.out" 2>&1 || {
	cat "$T/comp.out"; fail "bash completion"; }
if [ -r /usr/share/bash-completion/bash_completion ]; then
	bash --norc --noprofile -c '. /usr/share/bash-completion/bash_completion; . "$1"' _ \
		"$T/comp.bash" >"$T/comp.out" 2>&1 || {
		cat "$T/comp.out"; fail "bash completion with bash-completion loaded"; }
fi
echo "bash completion: ok"

# 6. zsh completion, when zsh is installed: parses, and completes in a real interactive zsh.
if command -v zsh >/dev/null; then
	zsh -n "$ROOT/contrib/completion/_oauthtop" || fail "zsh -n _oauthtop"
	cat >"$T/comp.zsh" <<'EOF'
setopt extendedglob
zmodload zsh/zpty || exit 1
zpty z 'zsh -f -i'
zpty -w z "PS1='%% '; fpath=($ROOT/contrib/completion \$fpath); autoload -U compinit; compinit -u -D; cd $ROOT"
# t LINE PATTERN: types LINE and a tab, waits (at most 10 s) for PATTERN on the screen.
t() {
	local out= chunk deadline=$(( SECONDS + 10 ))
	zpty -w z $'\C-u'
	zpty -wn z "$1"$'\t'
	while (( SECONDS < deadline )); do
		zpty -rt z chunk && out+=$chunk || sleep 0.1
		[[ ${out//$'\e'\[[0-9;?]#[a-zA-Z]/} == *$~2* ]] && return 0
	done
	print -r -- "completing [$1]: no [$2] in: ${(q+)out}"
	exit 1
}
t 'oauthtop sta' 'oauthtop status '
t 'oauthtop --config examples/generic.json token ' 'nightly-export*support_tool'
t 'oauthtop --config=examples/okta.json refresh hr-directory ' 'refresh hr-directory inventory-api '
t 'oauthtop status --format=' 'prometheus'
t 'oauthtop daemon --log-f' 'daemon --log-format='
t 'oauthtop tui --theme m' 'tui --theme mono '
zpty -d z
print ok
EOF
	ROOT=$ROOT zsh -f "$T/comp.zsh" >"$T/zcomp.out" 2>&1 || {
		cat "$T/zcomp.out"; fail "zsh completion"; }
	echo "zsh completion: ok"
else
	note "zsh is not installed: zsh completion not exercised"
fi
echo "packaging: all ok"
