package netutil

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// neighMsg builds one RTM_NEWNEIGH message as the kernel sends it.
func neighMsg(typ uint16, family byte, state uint16, dst netip.Addr, ll []byte) []byte {
	attr := func(t uint16, v []byte) []byte {
		a := make([]byte, 4, 4+len(v)+3)
		binary.NativeEndian.PutUint16(a, uint16(4+len(v)))
		binary.NativeEndian.PutUint16(a[2:], t)
		a = append(a, v...)
		for len(a)%4 != 0 {
			a = append(a, 0)
		}
		return a
	}
	body := make([]byte, unix.SizeofNdMsg)
	body[0] = family
	binary.NativeEndian.PutUint16(body[8:], state)
	body = append(body, attr(unix.NDA_DST, dst.AsSlice())...)
	if ll != nil {
		body = append(body, attr(unix.NDA_LLADDR, ll)...)
	}
	h := make([]byte, unix.NLMSG_HDRLEN)
	binary.NativeEndian.PutUint32(h, uint32(len(h)+len(body)))
	binary.NativeEndian.PutUint16(h[4:], typ)
	return append(h, body...)
}

func TestFindNeigh(t *testing.T) {
	a, b := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8::5")
	mac := []byte{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	dump := append(neighMsg(unix.RTM_NEWNEIGH, unix.AF_INET6, unix.NUD_INCOMPLETE, b, nil),
		neighMsg(unix.RTM_NEWNEIGH, unix.AF_INET6, unix.NUD_REACHABLE, a, mac)...)
	dump = append(dump, neighMsg(unix.RTM_NEWNEIGH, unix.AF_INET6, unix.NUD_STALE, b, []byte{1, 2, 3})...)
	if m, ok := findNeigh(dump, a); !ok || m.String() != "52:54:00:12:34:56" {
		t.Errorf("findNeigh(%s) = %v %v", a, m, ok)
	}
	if _, ok := findNeigh(dump, b); ok {
		t.Errorf("an incomplete entry and a 3-byte address gave %s a MAC", b)
	}
	// Truncated, garbage and empty input find nothing and do not panic.
	for _, bad := range [][]byte{dump[:len(dump)-5], {0xff, 0xff, 0xff, 0xff, 0, 0}, nil, make([]byte, 40)} {
		findNeigh(bad, a)
		dumpDone(bad)
	}
}

// TestNeighborMAC6Loopback asks the kernel for real: ::1 has no neighbour
// entry, and the dump must end.
func TestNeighborMAC6Loopback(t *testing.T) {
	if _, ok := NeighborMAC6(netip.MustParseAddr("::1")); ok {
		t.Error("::1 has a neighbour MAC")
	}
	if _, ok := NeighborMAC6(netip.MustParseAddr("10.0.0.1")); ok {
		t.Error("an IPv4 address has an IPv6 neighbour")
	}
}
