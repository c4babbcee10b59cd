#!/bin/sh
# mkcerts.sh DIR - a throw-away test CA and server certificates for oauthtop-idp.
# Writes ca.pem ca.key server.pem server.key (SAN IP:127.0.0.1, IP:::1, DNS:localhost) and
# wrong-name.pem wrong-name.key (SAN DNS:wrong.example), all signed by the CA, EC P-256, 30 days.
set -eu
[ $# -eq 1 ] || { echo "usage: mkcerts.sh DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"
umask 077
command -v openssl >/dev/null 2>&1 || { echo "mkcerts.sh: openssl not found" >&2; exit 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout ca.key -out ca.pem -days 30 -subj "/CN=oauthtop test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# leaf NAME CN SAN
leaf() {
	cat >"$1.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$3
EXT
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
		-out "$1.pem" -days 30 -extfile "$1.ext" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}
leaf server localhost "IP:127.0.0.1,IP:::1,DNS:localhost"
leaf wrong-name wrong.example "DNS:wrong.example"
rm -f ca.srl
chmod 644 ca.pem server.pem wrong-name.pem
