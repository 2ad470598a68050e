#!/usr/bin/env bash
# pki.sh: small openssl helpers for local clusters. Source it; it defines functions only.
#   pki::ca DIR                      -> DIR/ca.crt, DIR/ca.key (kept if present)
#   pki::cert DIR NAME CN ORG SANS USAGE
#                                    -> DIR/NAME.crt, DIR/NAME.key signed by DIR/ca.*
#     ORG may be empty; SANS is an openssl subjectAltName list ("IP:127.0.0.1,DNS:localhost")
#     or empty; USAGE is serverAuth, clientAuth or "serverAuth,clientAuth".

pki::ca() {
	local dir="$1"
	mkdir -p "$dir"
	[[ -s "$dir/ca.crt" && -s "$dir/ca.key" ]] && return 0
	openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$dir/ca.key" -subj "/CN=kstack-ca" -days 3650 \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
		-out "$dir/ca.crt" 2>/dev/null
	chmod 600 "$dir/ca.key"
}

pki::cert() {
	local dir="$1" name="$2" cn="$3" org="$4" sans="$5" usage="$6"
	[[ -s "$dir/$name.crt" && -s "$dir/$name.key" ]] && return 0
	local subj="/CN=${cn}"
	[[ -n "$org" ]] && subj="/O=${org}${subj}"
	local ext
	ext="$(mktemp)"
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=${usage}"
		[[ -n "$sans" ]] && echo "subjectAltName=${sans}"
	} >"$ext"
	openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
		openssl pkcs8 -topk8 -nocrypt -out "$dir/$name.key"
	openssl req -new -key "$dir/$name.key" -subj "$subj" 2>/dev/null |
		openssl x509 -req -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
			-days 365 -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
	rm -f "$ext"
	chmod 600 "$dir/$name.key"
}

# pki::kubeconfig FILE SERVER CADIR CERTNAME [NAMESPACE] writes a kubeconfig that trusts
# CADIR/ca.crt and authenticates with CADIR/CERTNAME.{crt,key}.
pki::kubeconfig() {
	local file="$1" server="$2" dir="$3" name="$4" ns="${5:-default}"
	dir="$(cd "$dir" && pwd)"
	cat >"$file" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: kstack
  cluster:
    server: ${server}
    certificate-authority: ${dir}/ca.crt
users:
- name: ${name}
  user:
    client-certificate: ${dir}/${name}.crt
    client-key: ${dir}/${name}.key
contexts:
- name: kstack
  context:
    cluster: kstack
    user: ${name}
    namespace: ${ns}
current-context: kstack
KUBECONFIG
	chmod 600 "$file"
}
