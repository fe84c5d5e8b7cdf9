package tftpboot

import (
	"bytes"
	"net/netip"
	"os"

	"github.com/bootwright/bootwright/internal/hw"
)

// arpTable is the kernel's IPv4 neighbour table for this process's
// network namespace.
const arpTable = "/proc/net/arp"

// atfCom is the ARP entry flag for a completed entry (linux/if_arp.h).
const atfCom = 0x2

// NeighborMAC returns the MAC address the kernel's ARP table holds for
// ip, the way a server on the same link learns which machine asks for a
// file whose name carries no MAC. It finds nothing for IPv6 peers, for
// peers behind a router (their packets come from the router's MAC, and
// the table is keyed by address) and for incomplete entries.
func NeighborMAC(ip netip.Addr) (hw.MAC, bool) {
	if !ip.Is4() {
		return hw.MAC{}, false
	}
	data, err := os.ReadFile(arpTable)
	if err != nil {
		return hw.MAC{}, false
	}
	return parseARP(data, ip)
}

// parseARP finds ip in the text of /proc/net/arp:
//
//	IP address       HW type     Flags       HW address            Mask     Device
//	10.231.0.100     0x1         0x2         52:54:00:12:34:56     *        br0
//
// Only complete Ethernet entries (HW type 0x1, flag ATF_COM) count.
func parseARP(data []byte, ip netip.Addr) (hw.MAC, bool) {
	want := []byte(ip.String())
	for line := range bytes.Lines(data) {
		f := bytes.Fields(line)
		if len(f) < 4 || !bytes.Equal(f[0], want) || string(f[1]) != "0x1" {
			continue
		}
		if flags, ok := parseHexFlags(f[2]); !ok || flags&atfCom == 0 {
			continue
		}
		mac, ok := parseMAC(string(f[3]), ":")
		if ok && !mac.IsZero() {
			return mac, true
		}
	}
	return hw.MAC{}, false
}

// parseHexFlags reads "0x2"-style flags.
func parseHexFlags(b []byte) (int, bool) {
	h, ok := bytes.CutPrefix(b, []byte("0x"))
	if !ok || len(h) == 0 || len(h) > 4 {
		return 0, false
	}
	n := 0
	for _, c := range h {
		d, ok := unhex(c)
		if !ok {
			return 0, false
		}
		n = n<<4 | int(d)
	}
	return n, true
}
