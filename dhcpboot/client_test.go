package dhcpboot

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

func TestParseClient(t *testing.T) {
	tests := map[string]struct {
		kind []dhcpv4.Modifier
		want func(c *Client)
	}{
		"bios firmware": {
			kind: biosFirmware,
			want: func(c *Client) {
				c.Arch, c.VendorClass, c.GUID = hw.ArchBIOS, "PXEClient:Arch:00000:UNDI:002001", testGUID
			},
		},
		"arch from option 60 when option 93 is missing": {
			kind: []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003000"))},
			want: func(c *Client) {
				c.Arch, c.VendorClass = hw.ArchEFIx64, "PXEClient:Arch:00007:UNDI:003000"
			},
		},
		"pxe client without any arch is bios": {
			kind: []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient"))},
			want: func(c *Client) { c.VendorClass = "PXEClient" },
		},
		"ipxe by user class and 175": {
			kind: ipxeBIOS,
			want: func(c *Client) {
				c.VendorClass, c.UserClass, c.IPXE = "PXEClient:Arch:00000:UNDI:002001", []string{"iPXE"}, true
			},
		},
		"relayed renewal": {
			kind: []dhcpv4.Modifier{
				dhcpv4.WithClientIP([]byte{10, 1, 0, 7}),
				dhcpv4.WithGatewayIP([]byte{10, 1, 0, 1}),
				dhcpv4.WithOption(dhcpv4.OptServerIdentifier([]byte{10, 231, 0, 1})),
				dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress([]byte{10, 1, 0, 7})),
			},
			want: func(c *Client) {
				c.ClientIP = netip.MustParseAddr("10.1.0.7")
				c.Relay = netip.MustParseAddr("10.1.0.1")
				c.ServerID = testSelf
				c.RequestedIP = netip.MustParseAddr("10.1.0.7")
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			want := Client{MAC: testMAC, XID: dhcpv4.TransactionID{0xde, 0xad, 0xbe, 0xef}, Type: dhcpv4.MessageTypeDiscover, Arch: hw.ArchBIOS}
			tc.want(&want)
			got := parse(t, request(t, dhcpv4.MessageTypeDiscover, tc.kind))
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("ParseClient (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseClientRejects(t *testing.T) {
	tests := map[string]func(p *dhcpv4.DHCPv4){
		"reply opcode":        func(p *dhcpv4.DHCPv4) { p.OpCode = dhcpv4.OpcodeBootReply },
		"no message type":     func(p *dhcpv4.DHCPv4) { p.Options.Del(dhcpv4.OptionDHCPMessageType) },
		"short hardware addr": func(p *dhcpv4.DHCPv4) { p.ClientHWAddr = p.ClientHWAddr[:4] },
		"not ethernet":        func(p *dhcpv4.DHCPv4) { p.HWType = iana.HWTypeIEEE802 },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			p := request(t, dhcpv4.MessageTypeDiscover, biosFirmware)
			mutate(p)
			if _, err := ParseClient(p); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseClient error = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestSendGUID: a request whose chaddr is EDK2's 16-byte system GUID is
// dropped as malformed, saying why.
func TestSendGUID(t *testing.T) {
	p := request(t, dhcpv4.MessageTypeDiscover, uefiFirmware)
	p.ClientHWAddr = make([]byte, 16)
	if _, err := ParseClient(p); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "SendGUID") {
		t.Errorf("ParseClient = %v, want a malformed error naming SendGUID", err)
	}
}
