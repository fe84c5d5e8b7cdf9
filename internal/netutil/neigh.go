package netutil

import (
	"encoding/binary"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"

	"github.com/bootwright/bootwright/internal/hw"
)

// NeighborMAC6 returns the MAC the kernel's IPv6 neighbour table holds
// for addr (any interface), the way a server on the link learns which
// machine a DHCPv6 message or a TFTP request over IPv6 comes from when
// the message names none. It asks over rtnetlink (RTM_GETNEIGH), as `ip
// -6 neigh` does; there is no /proc file for IPv6 neighbours. Incomplete
// and failed entries count as none.
func NeighborMAC6(addr netip.Addr) (hw.MAC, bool) {
	if !addr.Is6() || addr.Is4In6() {
		return hw.MAC{}, false
	}
	msgs, err := neighDump()
	if err != nil {
		return hw.MAC{}, false
	}
	return findNeigh(msgs, addr.WithZone(""))
}

// neighDump asks the kernel for every IPv6 neighbour entry and returns
// the raw netlink replies.
func neighDump() ([]byte, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, os.NewSyscallError("bind", err)
	}
	req := make([]byte, unix.NLMSG_HDRLEN+unix.SizeofNdMsg)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.RTM_GETNEIGH)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], 1) // sequence
	req[unix.NLMSG_HDRLEN] = unix.AF_INET6
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, os.NewSyscallError("sendto", err)
	}
	var out []byte
	buf := make([]byte, 1<<16)
	for range 1024 { // bounded: a dump ends with NLMSG_DONE
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, os.NewSyscallError("recvfrom", err)
		}
		out = append(out, buf[:n]...)
		if dumpDone(buf[:n]) {
			break
		}
	}
	return out, nil
}

// dumpDone reports whether b holds the NLMSG_DONE (or an error) that
// ends a dump.
func dumpDone(b []byte) bool {
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b))
		t := binary.NativeEndian.Uint16(b[4:])
		if t == unix.NLMSG_DONE || t == unix.NLMSG_ERROR {
			return true
		}
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return true
		}
		b = b[nlAlign(l):]
	}
	return false
}

func nlAlign(n int) int { return (n + 3) &^ 3 }

// findNeigh looks for addr among the RTM_NEWNEIGH messages in b: its
// NDA_DST and NDA_LLADDR attributes, in an entry that is neither
// incomplete nor failed.
func findNeigh(b []byte, addr netip.Addr) (hw.MAC, bool) {
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			break
		}
		typ, msg := binary.NativeEndian.Uint16(b[4:]), b[unix.NLMSG_HDRLEN:l]
		b = b[min(nlAlign(l), len(b)):]
		if typ != unix.RTM_NEWNEIGH || len(msg) < unix.SizeofNdMsg || msg[0] != unix.AF_INET6 {
			continue
		}
		state := binary.NativeEndian.Uint16(msg[8:])
		if state&(unix.NUD_INCOMPLETE|unix.NUD_FAILED) != 0 {
			continue
		}
		var dst netip.Addr
		var lladdr []byte
		for at := msg[unix.SizeofNdMsg:]; len(at) >= 4; {
			al, typ := int(binary.NativeEndian.Uint16(at)), binary.NativeEndian.Uint16(at[2:])
			if al < 4 || al > len(at) {
				break
			}
			switch typ {
			case unix.NDA_DST:
				dst, _ = netip.AddrFromSlice(at[4:al])
			case unix.NDA_LLADDR:
				lladdr = at[4:al]
			}
			at = at[min(nlAlign(al), len(at)):]
		}
		if dst == addr {
			if m, ok := hw.MACFrom(lladdr); ok && !m.IsZero() {
				return m, true
			}
		}
	}
	return hw.MAC{}, false
}
