package dhcpboot

import (
	"net/netip"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

var (
	testMAC  = hw.MAC{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	testSelf = netip.MustParseAddr("10.231.0.1")
	testGUID = append([]byte{0}, make([]byte, 16)...)
)

// testPolicy is the policy a server on 10.231.0.1:8080 would use.
func testPolicy() Policy {
	return Policy{
		BootFiles:  DefaultBootFiles(hw.NBPSnponly),
		IPXEScript: "http://10.231.0.1:8080/boot.ipxe",
		HTTPBase:   "http://10.231.0.1:8080/tftp/",
	}
}

func testSubnets() []Subnet {
	return []Subnet{{
		Prefix:    netip.MustParsePrefix("10.231.0.0/24"),
		Range:     Range{netip.MustParseAddr("10.231.0.100"), netip.MustParseAddr("10.231.0.101")},
		Routers:   []netip.Addr{testSelf},
		DNS:       []netip.Addr{netip.MustParseAddr("10.231.0.53")},
		LeaseTime: time.Hour,
	}, {
		// A relayed subnet, chosen by giaddr 10.9.0.1.
		Prefix:    netip.MustParsePrefix("10.9.0.0/24"),
		Range:     Range{netip.MustParseAddr("10.9.0.100"), netip.MustParseAddr("10.9.0.199")},
		Routers:   []netip.Addr{netip.MustParseAddr("10.9.0.1")},
		Domain:    "relayed.test",
		LeaseTime: 10 * time.Minute,
	}}
}

// handleOne runs a request through the decision and handle, as
// servePacket does after admission.
func handleOne(t testing.TB, s *Server, req *dhcpv4.DHCPv4, port4011 bool) result {
	t.Helper()
	s.init()
	c := parse(t, req)
	r := query{req: req, c: c, port4011: port4011, ifname: s.Interface}
	if s.Hosts != nil {
		r.h = s.Hosts(c.MAC)
	}
	r.d = Decide(c, r.h, s.Policy)
	return s.handle(r)
}

// Client kinds, each as a modifier on a request.
var (
	biosFirmware = []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, testGUID),
	}
	uefiFirmware = []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003000")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, testGUID),
	}
	uefiHTTP = []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("HTTPClient:Arch:00016:UNDI:003001")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64_HTTP)),
	}
	ipxeBIOS = []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)),
		dhcpv4.WithOption(dhcpv4.OptUserClass("iPXE")),
		dhcpv4.WithGeneric(dhcpv4.OptionEtherboot, []byte{0x13, 0x01, 0x01}),
	}
	ipxeOpt175Only = []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003010")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)),
		dhcpv4.WithGeneric(dhcpv4.OptionEtherboot, []byte{0x13, 0x01, 0x01}),
	}
	plainClient = []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("android-dhcp-14")),
	}
)

// request builds a BOOTREQUEST of type mt from testMAC with the given
// client kind and extra modifiers.
func request(t testing.TB, mt dhcpv4.MessageType, kind []dhcpv4.Modifier, extra ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	mods := append([]dhcpv4.Modifier{
		dhcpv4.WithTransactionID(dhcpv4.TransactionID{0xde, 0xad, 0xbe, 0xef}),
		dhcpv4.WithHwAddr(testMAC.HardwareAddr()),
		dhcpv4.WithMessageType(mt),
	}, kind...)
	p, err := dhcpv4.New(append(mods, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// parse runs ParseClient and fails the test on error.
func parse(t testing.TB, p *dhcpv4.DHCPv4) Client {
	t.Helper()
	c, err := ParseClient(p)
	if err != nil {
		t.Fatalf("ParseClient: %v", err)
	}
	return c
}
