package dhcp6boot

import (
	"net"
	"net/netip"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/insomniacslk/dhcp/rfc1035label"
)

// EnterprisePXE is the enterprise number UEFI writes in its vendor class
// option (16): 343, Intel's, which UEFI PXE and HTTP Boot use for
// "PXEClient" and "HTTPClient" (EDK2's PXEBC_DHCP6_ENTERPRISE_NUM).
const EnterprisePXE = 343

// newReply starts a reply of type t to the client: its transaction ID,
// its DUID echoed (option 1) and ours (option 2).
func (s *Server) newReply(r query, t dhcpv6.MessageType) *dhcpv6.Message {
	m := &dhcpv6.Message{MessageType: t, TransactionID: r.c.XID}
	if r.c.DUID != nil {
		m.AddOption(dhcpv6.OptClientID(r.c.DUID))
	}
	m.AddOption(dhcpv6.OptServerID(s.DUID))
	return m
}

// addBoot adds the boot URL (option 59, RFC 5970) and the vendor class
// the client needs to see (option 16) when the decision boots it.
//
// UEFI HTTP Boot needs "HTTPClient" echoed (UEFI 2.5+ 24.7). UEFI PXE
// firmware reads "PXEClient" as "this offer is from a PXE boot server":
// EDK2 (PxeBcDhcp6.c) then asks port 4011 of the server in the boot URL
// for the file before it boots, which is what a proxy offer needs (its
// Advertise carries no address) and what a full-mode offer does not: from
// a full server, an Advertise with an address and a boot URL but no
// "PXEClient" is one EDK2 boots from at once.
func addBoot(m *dhcpv6.Message, c Client, d dhcpboot.Decision, proxy bool) {
	if !d.Boot {
		return
	}
	m.AddOption(dhcpv6.OptBootFileURL(d.BootFile))
	vc := ""
	switch {
	case d.VendorClass == "HTTPClient":
		vc = "HTTPClient"
	case proxy && !c.IPXE:
		vc = "PXEClient"
	}
	if vc != "" {
		m.AddOption(&dhcpv6.OptVendorClass{EnterpriseNumber: EnterprisePXE, Data: [][]byte{[]byte(vc)}})
	}
}

// addOptions adds the link's options (DNS servers, option 23; search
// domain, option 24) and the boot options of a full-mode reply.
func addOptions(m *dhcpv6.Message, r query, n *Subnet) {
	if len(n.DNS) > 0 {
		ips := make([]net.IP, len(n.DNS))
		for i, a := range n.DNS {
			ips[i] = net.IP(a.AsSlice())
		}
		m.AddOption(dhcpv6.OptDNS(ips...))
	}
	if n.Domain != "" {
		m.AddOption(dhcpv6.OptDomainSearchList(&rfc1035label.Labels{Labels: []string{n.Domain}}))
	}
	addBoot(m, r.c, r.d, false)
}

// lifetimes are the T1 and T2 of an IA whose addresses live lt: half and
// four fifths of it (RFC 8415 21.4).
func lifetimes(lt time.Duration) (t1, t2 time.Duration) { return lt / 2, lt * 4 / 5 }

// iaGrant is the client's IA_NA holding addr for lt, and every other
// address the client named in it with lifetimes 0, so that it stops
// using them (RFC 8415 18.3.4).
func iaGrant(ia IA, addr netip.Addr, lt time.Duration) *dhcpv6.OptIANA {
	t1, t2 := lifetimes(lt)
	o := &dhcpv6.OptIANA{IaId: ia.IAID, T1: t1, T2: t2}
	o.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.IP(addr.AsSlice()), PreferredLifetime: lt, ValidLifetime: lt})
	for _, a := range ia.Addrs {
		if a != addr {
			o.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.IP(a.AsSlice())})
		}
	}
	return o
}

// iaWith is the IA_NA of an Advertise offering addr for lt.
func iaWith(ia IA, addr netip.Addr, lt time.Duration) *dhcpv6.OptIANA {
	t1, t2 := lifetimes(lt)
	o := &dhcpv6.OptIANA{IaId: ia.IAID, T1: t1, T2: t2}
	o.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.IP(addr.AsSlice()), PreferredLifetime: lt, ValidLifetime: lt})
	return o
}

// iaStatus is the client's IA_NA with a status and no address.
func iaStatus(ia IA, code iana.StatusCode, msg string) *dhcpv6.OptIANA {
	o := &dhcpv6.OptIANA{IaId: ia.IAID}
	o.Options.Add(&dhcpv6.OptStatusCode{StatusCode: code, StatusMessage: msg})
	return o
}
