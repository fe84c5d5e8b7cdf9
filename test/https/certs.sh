# certs.sh: a lab CA and server certificates made with openssl when a test
# runs (source it). Nothing here is ever committed: keys live in the
# caller's temporary directory.

# ca_new DIR: DIR/ca.crt and DIR/ca.key, a CA valid for a day.
ca_new() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/ca.key" -out "$1/ca.crt" -days 1 \
		-subj "/CN=bootwright lab CA" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# leaf_new DIR NAME SERIAL SAN [KEYTYPE [DAYS]]: DIR/NAME.crt and DIR/NAME.key,
# signed by DIR/ca.*, for SAN ("IP:10.231.0.1,DNS:localhost"), with serial
# SERIAL (hex), an rsa (default) or ec key, valid for DAYS (default 1;
# a negative number makes it one that expired that many days ago).
leaf_new() {
	local dir=$1 name=$2 serial=$3 san=$4 kt=${5:-rsa} days=${6:-1} start end
	if [ "$kt" = ec ]; then
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.key" 2>/dev/null
	else
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/$name.key" 2>/dev/null
	fi
	chmod 600 "$dir/$name.key"
	openssl req -new -key "$dir/$name.key" -subj "/CN=bootwright test server" -out "$dir/$name.csr" 2>/dev/null
	if [ "$days" -lt 0 ]; then
		start=$(date -u -d "$((1 - days)) days ago" +%y%m%d%H%M%SZ) end=$(date -u -d "$((-days)) days ago" +%y%m%d%H%M%SZ)
	else
		start=$(date -u -d "1 hour ago" +%y%m%d%H%M%SZ) end=$(date -u -d "$days days" +%y%m%d%H%M%SZ)
	fi
	# openssl ca, not x509 -req: only it takes a start and an end date.
	mkdir -p "$dir/ca.db"
	: >"$dir/ca.db/index.txt"
	echo "$serial" >"$dir/ca.db/serial"
	cat >"$dir/ca.db/ca.cnf" <<-EOF
	[ca]
	default_ca = lab
	[lab]
	database = $dir/ca.db/index.txt
	new_certs_dir = $dir/ca.db
	serial = $dir/ca.db/serial
	default_md = sha256
	policy = any
	unique_subject = no
	[any]
	commonName = supplied
	[leaf]
	subjectAltName = $san
	extendedKeyUsage = serverAuth
	basicConstraints = CA:FALSE
	keyUsage = digitalSignature, keyEncipherment
	EOF
	openssl ca -batch -notext -config "$dir/ca.db/ca.cnf" -extensions leaf -cert "$dir/ca.crt" -keyfile "$dir/ca.key" \
		-startdate "$start" -enddate "$end" -in "$dir/$name.csr" -out "$dir/$name.crt" 2>"$dir/ca.db/log" ||
		{ cat "$dir/ca.db/log" >&2; return 1; }
	rm -f "$dir/$name.csr"
}

# serial_of URL CAFILE [CURL_ARGS...]: the serial number (lower-case hex)
# of the certificate the server at URL presents, as curl saw it after
# verifying it against CAFILE; nothing when curl refused it.
serial_of() {
	local url=$1 ca=$2; shift 2
	curl -sS --cacert "$ca" -o /dev/null -w '%{certs}' "$@" "$url" 2>/dev/null |
		awk -F: '/^Serial Number:/ { print tolower($2); exit }'
}

# efi_cacerts CAFILE OUT: OUT is CAFILE (PEM) as an EFI_SIGNATURE_LIST
# with one EFI_CERT_X509_GUID entry, the format OVMF reads from fw_cfg
# etc/edk2/https/cacerts into the TlsCaCertificate variable:
#   SignatureType (16) | ListSize (4) | HeaderSize (4) = 0 | SignatureSize (4)
#   then SignatureOwner (16) | the DER certificate.
efi_cacerts() {
	local der size
	der=$(mktemp)
	openssl x509 -in "$1" -outform DER -out "$der"
	size=$(stat -c %s "$der")
	le32() { printf '%08x' "$1" | sed 's/\(..\)\(..\)\(..\)\(..\)/\\x\4\\x\3\\x\2\\x\1/'; }
	{
		printf '\xa1\x59\xc0\xa5\xe4\x94\xa7\x4a\x87\xb5\xab\x15\x5c\x2b\xf0\x72' # EFI_CERT_X509_GUID a5c059a1-94e4-4aa7-87b5-ab155c2bf072
		printf '%b' "$(le32 $((28 + 16 + size)))" "$(le32 0)" "$(le32 $((16 + size)))"
		printf '\xbd\x9a\xfa\x77\x59\x03\x32\x4d\xbd\x60\x28\xf4\xe7\x8f\x78\x4b' # owner: any GUID
		cat "$der"
	} >"$2"
	rm -f "$der"
}
