# bash completion for oauthtop(1): commands, each command's options and their values, and
# account names read from the configuration (--config on the line, else $OAUTHTOP_CONFIG,
# else $XDG_CONFIG_HOME/oauthtop/config.json, else /etc/oauthtop/config.json).
# Installed as $(PREFIX)/share/bash-completion/completions/oauthtop; works without the
# bash-completion package too:  . contrib/completion/oauthtop.bash
#
# Account names come from the configuration file itself (jq when installed, else grep), not
# from `oauthtop status`: completing must not open the store or need the clients' secrets.

_oauthtop_commands="tui status refresh daemon token import authorize revoke verify history check help"
# Options that take a value (the next word, or after '=').
_oauthtop_valued="--config --store --format --output --concurrency --log-format --min-valid"
_oauthtop_valued+=" --limit --theme --port --timeout --scope"

# The configuration file the command line would use.
_oauthtop_config() {
	local i w cfg=""
	for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		[[ $i -eq $COMP_CWORD ]] && continue
		case $w in
		--config=?*) cfg=${w#--config=} ;;
		--config)
			if [[ ${COMP_WORDS[i + 1]} == "=" ]]; then
				cfg=${COMP_WORDS[i + 2]}
			else
				cfg=${COMP_WORDS[i + 1]}
			fi
			;;
		esac
	done
	cfg=${cfg/#\~/$HOME}
	if [[ -z $cfg ]]; then
		if [[ -n $OAUTHTOP_CONFIG ]]; then
			cfg=$OAUTHTOP_CONFIG
		elif [[ -r ${XDG_CONFIG_HOME:-$HOME/.config}/oauthtop/config.json ]]; then
			cfg=${XDG_CONFIG_HOME:-$HOME/.config}/oauthtop/config.json
		else
			cfg=/etc/oauthtop/config.json
		fi
	fi
	printf '%s\n' "$cfg"
}

# Account names of that configuration, one per line.
_oauthtop_accounts() {
	local cfg
	cfg=$(_oauthtop_config)
	[[ -r $cfg ]] || return 0
	if command -v jq >/dev/null 2>&1; then
		jq -r '.accounts[]?.name? // empty' -- "$cfg" 2>/dev/null && return 0
	fi
	grep -o '"name"[[:space:]]*:[[:space:]]*"[A-Za-z0-9._-]*"' -- "$cfg" 2>/dev/null |
		sed 's/.*"\([^"]*\)"$/\1/'
}

# Theme names: the built-in ones and *.theme in the directories the console searches.
_oauthtop_themes() {
	local bin dir f
	bin=$(command -v -- "${COMP_WORDS[0]}" 2>/dev/null)
	printf '%s\n' default mono
	for dir in "$OAUTHTOP_THEME_DIR" "${XDG_CONFIG_HOME:-$HOME/.config}/oauthtop/themes" \
		"${bin%/*}/themes" "${bin%/*}/../share/oauthtop/themes" \
		/usr/local/share/oauthtop/themes /usr/share/oauthtop/themes; do
		[[ -n $dir ]] || continue
		for f in "$dir"/*.theme; do
			[[ -e $f ]] || continue
			f=${f##*/}
			printf '%s\n' "${f%.theme}"
		done
	done | sort -u
}

_oauthtop_files() {
	if declare -F _filedir >/dev/null; then
		_filedir "$@"
	else
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
}

_oauthtop_words() {
	mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

# Options of each command (global ones are added everywhere).
_oauthtop_options() {
	case $1 in
	tui) echo "--theme" ;;
	status) echo "--format --output" ;;
	refresh) echo "--all --force --concurrency" ;;
	daemon) echo "--log-format --verbose" ;;
	token) echo "--min-valid" ;;
	history) echo "--limit --format" ;;
	authorize) echo "--device --code --no-browser --no-qr --port --timeout --scope" ;;
	revoke) echo "--local" ;;
	verify) echo "--introspect --endpoint --refresh-token" ;;
	esac
}

_oauthtop() {
	local cur prev cmd="" opt="" i w npos=0
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	# "--opt=value" arrives as "--opt" "=" "value" (COMP_WORDBREAKS has '=').
	if [[ $cur == "=" ]]; then
		opt=$prev
		cur=""
	elif [[ $prev == "=" ]]; then
		opt=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		opt=${cur%%=*}
		cur=${cur#*=}
	elif [[ " $_oauthtop_valued " == *" $prev "* ]]; then
		opt=$prev
	fi

	# The command is the first word that is neither an option nor an option's value; count
	# the positional arguments after it.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == "=" ]]; then
			((i++))
			continue
		fi
		if [[ " $_oauthtop_valued " == *" $w "* ]]; then
			[[ ${COMP_WORDS[i + 1]} == "=" ]] || ((i++))
			continue
		fi
		[[ $w == -* ]] && continue
		if [[ -z $cmd ]]; then
			cmd=$w
		else
			((npos++))
		fi
	done

	case $opt in
	--config)
		_oauthtop_files json
		return 0
		;;
	--store | --output)
		_oauthtop_files
		return 0
		;;
	--format)
		case $cmd in
		history) _oauthtop_words "table json" ;;
		*) _oauthtop_words "table json prometheus" ;;
		esac
		return 0
		;;
	--log-format)
		_oauthtop_words "text json"
		return 0
		;;
	--theme)
		_oauthtop_words "$(_oauthtop_themes)"
		return 0
		;;
	--concurrency | --min-valid | --limit | --port | --timeout | --scope)
		return 0
		;;
	esac

	if [[ $cur == -* ]]; then
		local opts
		opts="$(_oauthtop_options "$cmd") --config --store --help"
		[[ -z $cmd ]] && opts="$opts --version"
		_oauthtop_words "$opts"
		return 0
	fi

	case $cmd in
	"")
		_oauthtop_words "$_oauthtop_commands"
		;;
	help)
		[[ $npos -eq 0 ]] && _oauthtop_words "$_oauthtop_commands"
		;;
	refresh)
		# Every account not already named.
		local acc named=" ${COMP_WORDS[*]:1:COMP_CWORD-1} " left=""
		for acc in $(_oauthtop_accounts); do
			[[ $named == *" $acc "* ]] || left="$left $acc"
		done
		_oauthtop_words "$left"
		;;
	token | authorize | revoke | verify | history)
		[[ $npos -eq 0 ]] && _oauthtop_words "$(_oauthtop_accounts)"
		;;
	import)
		if [[ $npos -eq 0 ]]; then
			_oauthtop_words "$(_oauthtop_accounts)"
		elif [[ $npos -eq 1 ]]; then
			_oauthtop_files
		fi
		;;
	esac
	return 0
}

complete -F _oauthtop oauthtop
