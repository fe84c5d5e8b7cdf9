package dhcp6boot

import (
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/hw"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

var (
	testMAC  = hw.MAC{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	testSelf = netip.MustParseAddr("fd42:231::1")
	// testPeer is testMAC's EUI-64 link-local address, where it sends from.
	testPeer   = netip.MustParseAddr("fe80::5054:ff:fe12:3456")
	testDUID   = &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}}
	clientDUID = &dhcpv6.DUIDLLT{HWType: iana.HWTypeEthernet, Time: 0x2d2c3a40, LinkLayerAddr: testMAC.HardwareAddr()}
	// zeroUUID is the DUID iPXE sends under QEMU: a DUID-UUID of zeros.
	zeroUUID = &dhcpv6.DUIDUUID{}
	testIAID = [4]byte{0, 0, 0, 1}
)

// testPolicy is the policy a server on [fd42:231::1]:8080 would use.
func testPolicy() Policy {
	return Policy{Policy: dhcpboot.Policy{
		BootFiles:  dhcpboot.DefaultBootFiles(hw.NBPSnponly),
		IPXEScript: "http://[fd42:231::1]:8080/boot.ipxe",
		HTTPBase:   "http://[fd42:231::1]:8080/tftp/",
	}}
}

func testSubnets() []Subnet {
	return []Subnet{{
		Prefix:    netip.MustParsePrefix("fd42:231::/64"),
		Range:     Range{netip.MustParseAddr("fd42:231::100"), netip.MustParseAddr("fd42:231::101")},
		DNS:       []netip.Addr{netip.MustParseAddr("fd42:231::53")},
		Domain:    "lab.test",
		LeaseTime: time.Hour,
	}, {
		// A relayed link, chosen by the relay's link-address.
		Prefix:    netip.MustParsePrefix("2001:db8:9::/64"),
		Range:     Range{netip.MustParseAddr("2001:db8:9::100"), netip.MustParseAddr("2001:db8:9::1ff")},
		LeaseTime: 10 * time.Minute,
	}}
}

func testServer(mode dhcpboot.Mode) *Server {
	return &Server{Mode: mode, Address: testSelf, DUID: testDUID, Policy: testPolicy(), Subnets: testSubnets()}
}

// Client kinds, each as modifiers on a message.
var (
	uefiPXE = []dhcpv6.Modifier{
		dhcpv6.WithClientID(clientDUID),
		dhcpv6.WithArchType(iana.EFI_X86_64),
		dhcpv6.WithOption(&dhcpv6.OptVendorClass{EnterpriseNumber: 343, Data: [][]byte{[]byte("PXEClient:Arch:00007:UNDI:003000")}}),
		dhcpv6.WithRequestedOptions(dhcpv6.OptionBootfileURL, dhcpv6.OptionBootfileParam, dhcpv6.OptionDNSRecursiveNameServer, dhcpv6.OptionVendorClass),
	}
	uefiHTTP = []dhcpv6.Modifier{
		dhcpv6.WithClientID(clientDUID),
		dhcpv6.WithArchType(iana.EFI_X86_64_HTTP),
		dhcpv6.WithOption(&dhcpv6.OptVendorClass{EnterpriseNumber: 343, Data: [][]byte{[]byte("HTTPClient:Arch:00016:UNDI:003001")}}),
		dhcpv6.WithRequestedOptions(dhcpv6.OptionBootfileURL),
	}
	ipxe = []dhcpv6.Modifier{
		dhcpv6.WithClientID(zeroUUID),
		dhcpv6.WithUserClass([]byte("iPXE")),
		dhcpv6.WithRequestedOptions(dhcpv6.OptionDNSRecursiveNameServer, dhcpv6.OptionDomainSearchList, dhcpv6.OptionBootfileURL, dhcpv6.OptionBootfileParam),
	}
	plain = []dhcpv6.Modifier{
		dhcpv6.WithClientID(clientDUID),
		dhcpv6.WithRequestedOptions(dhcpv6.OptionDNSRecursiveNameServer),
	}
)

// withIA adds an IA_NA with IAID 1 naming addrs.
func withIA(addrs ...string) dhcpv6.Modifier {
	return func(d dhcpv6.DHCPv6) {
		ia := &dhcpv6.OptIANA{IaId: testIAID, T1: time.Hour, T2: 2 * time.Hour}
		for _, a := range addrs {
			ia.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP(a), PreferredLifetime: time.Hour, ValidLifetime: time.Hour})
		}
		d.AddOption(ia)
	}
}

// ours names this server (option 2).
var ours = dhcpv6.WithServerID(testDUID)

// message builds a client message of type t with the given kind and
// extra modifiers, transaction ID 0xabcdef.
func message(t testing.TB, mt dhcpv6.MessageType, kind []dhcpv6.Modifier, extra ...dhcpv6.Modifier) *dhcpv6.Message {
	t.Helper()
	m := &dhcpv6.Message{MessageType: mt, TransactionID: dhcpv6.TransactionID{0xab, 0xcd, 0xef}}
	m.AddOption(dhcpv6.OptElapsedTime(0))
	for _, mod := range append(append([]dhcpv6.Modifier{}, kind...), extra...) {
		mod(m)
	}
	return m
}

// relayed wraps m in a Relay-Forw from a relay on link, as dhcrelay -6
// sends it, with option 79 naming mac when it is not zero.
func relayed(t testing.TB, m dhcpv6.DHCPv6, link string, mac hw.MAC) *dhcpv6.RelayMessage {
	t.Helper()
	r, err := dhcpv6.EncapsulateRelay(m, dhcpv6.MessageTypeRelayForward, net.ParseIP(link), net.ParseIP("fe80::5054:ff:fe12:3456"))
	if err != nil {
		t.Fatal(err)
	}
	r.AddOption(dhcpv6.OptInterfaceID([]byte("eth1")))
	if !mac.IsZero() {
		r.AddOption(dhcpv6.OptClientLinkLayerAddress(iana.HWTypeEthernet, mac.HardwareAddr()))
	}
	return r
}

// handleBytes runs a datagram from peer through parse, admission-free
// decision and handle, as servePacket does.
func handleBytes(t testing.TB, s *Server, b []byte, peer netip.Addr, port4011 bool) (query, result) {
	t.Helper()
	s.init()
	req, c, err := Parse(b, peer, s.Neighbor)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	r := query{req: req, c: c, port4011: port4011}
	if s.Hosts != nil {
		r.h = s.Hosts(c.MAC)
	}
	if s.Mode == dhcpboot.ModeFull {
		r.n = s.selectSubnet(c, "")
	}
	r.d = Decide(c, r.h, s.Policy, s.serverAddr(r.n))
	return r, s.handle(r)
}

// hexDump formats b as 16-byte hex lines.
func hexDump(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(16, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]))
		sb.WriteByte('\n')
		b = b[n:]
	}
	return sb.String()
}

// mustAddr parses an address; "" is the zero Addr.
func mustAddr(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}
