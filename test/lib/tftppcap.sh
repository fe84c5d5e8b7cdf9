# shellcheck shell=bash
# tftppcap.sh: TFTP transfers read back from a pcap (source it). The
# pcap must hold the client's side of each transfer with at least the IP
# and UDP headers and the TFTP payload's first bytes (RRQ and OACK
# packets whole: tcpdump -s 256 is plenty). Needs tcpdump and awk.

# tftp_transfers PCAP SERVER: one line per RRQ sent to SERVER:69 in PCAP,
# in order, with tab-separated fields (an empty one is "-"):
#
#   client    the client's address:port (its TID), as bootwright logs peer=
#   file      the requested name
#   asked     the RRQ's options, "name=value" by name, names lowercased
#   oack      the options of the server's (last) OACK to that TID, or "-"
#   data      DATA packets the server sent to that TID
#   blocks    distinct block numbers among them (a block number counts
#             once, so past a rollover at 65535 this undercounts)
#   acks      ACKs the client sent from that TID (the ACK of the OACK too)
#   first     epoch seconds of the first DATA, or "-"
#   last      epoch seconds of the client's last ACK, or "-"
#   errors    ERROR packets from the client on that TID (error 8 after
#             the OACK: a size probe)
#
# A later RRQ from the same address and port starts a new transfer.
tftp_transfers() {
	# -xx: the hex from the Ethernet header on, for every packet (with -x,
	# tcpdump starts some packets it cannot decode at the link layer too).
	tcpdump -nn -tt -xx -r "$1" "ip and udp" 2>/dev/null | awk -v srv="$2" '
	function hex(s,   n, i) {
		n = 0
		for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return n
	}
	# strs(s): the NUL-terminated strings in hex s, joined by SUBSEP.
	function strs(s,   out, cur, i, b) {
		out = ""; cur = ""
		for (i = 1; i + 1 <= length(s); i += 2) {
			b = substr(s, i, 2)
			if (b == "00") { out = out SUBSEP cur; cur = "" }
			else cur = cur ((b in chr) ? chr[b] : "?")
		}
		return substr(out, 2)
	}
	# opts(list, from): "name=value" pairs of list (split by SUBSEP) from
	# index from, names lowercased, sorted by name.
	function opts(list, from,   a, n, i, j, k, t, m, keys) {
		n = split(list, a, SUBSEP); m = 0
		for (i = from; i + 1 <= n; i += 2) keys[++m] = tolower(a[i]) "=" a[i + 1]
		for (i = 2; i <= m; i++) { t = keys[i]; for (j = i - 1; j >= 1 && keys[j] > t; j--) keys[j + 1] = keys[j]; keys[j + 1] = t }
		t = ""
		for (k = 1; k <= m; k++) t = t (k > 1 ? " " : "") keys[k]
		return t == "" ? "-" : t
	}
	function endpoint(s) { sub(/:$/, "", s); return s }
	function addr(e) { sub(/\.[0-9]+$/, "", e); return e }
	function port(e) { sub(/^.*\./, "", e); return e }
	function packet(   ihl, p, op, key, n, a, blk) {
		# Ethernet (14 bytes, no VLAN tag), then IPv4.
		if (substr(hx, 25, 4) != "0800") return
		hx = substr(hx, 29)
		ihl = hex(substr(hx, 2, 1)) * 4
		p = substr(hx, (ihl + 8) * 2 + 1)
		op = hex(substr(p, 1, 4))
		if (addr(dst) == srv && port(dst) == 69 && op == 1) {
			key = addr(src) ":" port(src)
			n = ++count; cur[key] = n; client[n] = key
			split(strs(substr(p, 5)), a, SUBSEP)
			file[n] = a[1]; asked[n] = opts(strs(substr(p, 5)), 3)
			oack[n] = "-"; data[n] = 0; blocks[n] = 0; acks[n] = 0; first[n] = "-"; last[n] = "-"; errs[n] = 0
		} else if (addr(src) == srv && port(src) != 69) {
			key = addr(dst) ":" port(dst)
			if (!(key in cur)) return
			n = cur[key]
			if (op == 6) oack[n] = opts(strs(substr(p, 5)), 1)
			if (op == 3) {
				data[n]++
				blk = substr(p, 5, 4)
				if (!((n, blk) in seen)) { seen[n, blk] = 1; blocks[n]++ }
				if (first[n] == "-") first[n] = ts
			}
		} else if (addr(dst) == srv && port(dst) != 69) {
			key = addr(src) ":" port(src)
			if (!(key in cur)) return
			n = cur[key]
			if (op == 4) { acks[n]++; last[n] = ts }
			if (op == 5) errs[n]++
		}
	}
	BEGIN { for (i = 1; i < 256; i++) chr[sprintf("%02x", i)] = (i >= 32 && i < 127) ? sprintf("%c", i) : "?" }
	/^[0-9]/ { packet(); ts = $1; src = $3; dst = endpoint($5); hx = ""; next }
	/^[ \t]+0x/ { for (i = 2; i <= NF; i++) hx = hx $i }
	END {
		packet()
		for (n = 1; n <= count; n++)
			printf "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%d\n", client[n], file[n], asked[n], oack[n], data[n], blocks[n], acks[n], first[n], last[n], errs[n]
	}'
}
