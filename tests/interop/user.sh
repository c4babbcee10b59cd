# user.sh - the user's side of an authorization at oidc-provider, played with curl and a
# cookie jar through its development forms (device confirmation, login, consent).
# Sourced by run.sh. Only loopback URLs are ever requested.

# ui_form_action PAGE BASE: the first form's action, made absolute against BASE.
ui_form_action() {
	_a=$(tr '\n' ' ' <"$1" | sed -n 's/.*<form[^>]* action="\([^"]*\)".*/\1/p' | head -n 1)
	case "$_a" in
	http://127.0.0.1:*) printf '%s\n' "$_a" ;;
	/*) printf '%s%s\n' "$2" "$_a" ;;
	*) return 1 ;;
	esac
}

# ui_hidden_args PAGE: "-d name=value" for each hidden input of the page (one per line).
ui_hidden_args() {
	tr '>' '\n' <"$1" | sed -n 's/.*<input type="hidden" name="\([^"]*\)" value="\([^"]*\)".*/\1=\2/p'
}

# ui_post PAGE BASE OUT [name=value...]: submits the page's first form with its hidden inputs
# and the extra fields, following redirects; the final page goes to OUT.
ui_post() {
	_page=$1 _base=$2 _out=$3
	shift 3
	_action=$(ui_form_action "$_page" "$_base") || return 1
	set -- "$@" $(ui_hidden_args "$_page")
	_args=""
	for _kv in "$@"; do
		_args="$_args --data-urlencode $_kv"
	done
	# shellcheck disable=SC2086 # word splitting of the generated arguments is intended
	curl -s -L --max-redirs 10 -m 20 -c "$UI_JAR" -b "$UI_JAR" $_args -o "$_out" "$_action"
}

# ui_authorize URL BASE DIR [abort]: plays the user from URL (a verification_uri_complete or an
# authorization URL) to the end: confirm the device code, log in, consent. With "abort" the
# user clicks Abort on the device confirmation page instead (access_denied).
# Returns 0 when the flow finished (success page or redirect followed), 1 otherwise.
ui_authorize() {
	_url=$1 _b=$2 _dir=$3 _mode=${4:-}
	UI_JAR=$_dir/jar
	_n=0
	curl -s -L --max-redirs 10 -m 20 -c "$UI_JAR" -b "$UI_JAR" -o "$_dir/page0" "$_url" || return 1
	while [ $_n -lt 8 ]; do
		_p=$_dir/page$_n
		_n=$((_n + 1))
		if grep -q 'name="confirm"' "$_p"; then
			if [ "$_mode" = abort ]; then
				ui_post "$_p" "$_b" "$_dir/page$_n" abort=yes || return 1
			else
				ui_post "$_p" "$_b" "$_dir/page$_n" || return 1
			fi
		elif grep -q 'name="login"' "$_p"; then
			ui_post "$_p" "$_b" "$_dir/page$_n" login=interop-user password=any || return 1
		elif grep -q 'name="prompt" value="consent"' "$_p"; then
			ui_post "$_p" "$_b" "$_dir/page$_n" || return 1
		elif grep -q 'document.forms\[0\].submit()' "$_p"; then
			# a page that a browser submits by itself (the device code from the URL)
			ui_post "$_p" "$_b" "$_dir/page$_n" || return 1
		else
			return 0
		fi
	done
	return 1
}
