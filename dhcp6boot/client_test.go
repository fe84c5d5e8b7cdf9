package dhcp6boot

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

func TestParseMAC(t *testing.T) {
	other := hw.MAC{2, 0, 0, 0, 0, 9}
	privacy := netip.MustParseAddr("fe80::8c3a:1f2e:9d4b:7a10")
	en := &dhcpv6.DUIDEN{EnterpriseNumber: 9, EnterpriseIdentifier: []byte{1, 2, 3}}
	tests := map[string]struct {
		msg      func(t *testing.T) dhcpv6.DHCPv6
		peer     netip.Addr
		neighbor func(netip.Addr) (hw.MAC, bool)
		want     hw.MAC
		from     string
	}{
		"duid-llt": {msg: func(t *testing.T) dhcpv6.DHCPv6 { return message(t, dhcpv6.MessageTypeSolicit, plain) }, peer: privacy, want: testMAC, from: "duid-llt"},
		"duid-ll": {msg: func(t *testing.T) dhcpv6.DHCPv6 {
			return message(t, dhcpv6.MessageTypeSolicit, nil, dhcpv6.WithClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: other.HardwareAddr()}))
		}, peer: testPeer, want: other, from: "duid-ll"},
		"ipxe's zero uuid, eui-64 source": {msg: func(t *testing.T) dhcpv6.DHCPv6 { return message(t, dhcpv6.MessageTypeSolicit, ipxe) }, peer: testPeer, want: testMAC, from: "eui-64"},
		"zero uuid relayed with option 79": {msg: func(t *testing.T) dhcpv6.DHCPv6 {
			return relayed(t, message(t, dhcpv6.MessageTypeSolicit, ipxe), "2001:db8:9::1", other)
		}, peer: netip.MustParseAddr("2001:db8::2"), want: other, from: "relay-79"},
		"zero uuid relayed, eui-64 peer-address": {msg: func(t *testing.T) dhcpv6.DHCPv6 {
			return relayed(t, message(t, dhcpv6.MessageTypeSolicit, ipxe), "2001:db8:9::1", hw.MAC{})
		}, peer: netip.MustParseAddr("2001:db8::2"), want: testMAC, from: "eui-64"},
		"duid-en, privacy address, neighbour table": {msg: func(t *testing.T) dhcpv6.DHCPv6 {
			return message(t, dhcpv6.MessageTypeSolicit, nil, dhcpv6.WithClientID(en))
		}, peer: privacy, neighbor: func(a netip.Addr) (hw.MAC, bool) { return other, a == privacy }, want: other, from: "neighbor"},
		"duid-llt of a 16-byte address": {msg: func(t *testing.T) dhcpv6.DHCPv6 {
			return message(t, dhcpv6.MessageTypeSolicit, nil, dhcpv6.WithClientID(&dhcpv6.DUIDLLT{HWType: iana.HWTypeEthernet, LinkLayerAddr: make(net.HardwareAddr, 16)}))
		}, peer: testPeer, want: testMAC, from: "eui-64"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, c, err := Parse(tc.msg(t).ToBytes(), tc.peer, tc.neighbor)
			if err != nil {
				t.Fatal(err)
			}
			if c.MAC != tc.want || c.MACSource != tc.from {
				t.Errorf("MAC %s from %q, want %s from %q", c.MAC, c.MACSource, tc.want, tc.from)
			}
		})
	}
	en2 := message(t, dhcpv6.MessageTypeSolicit, nil, dhcpv6.WithClientID(en)).ToBytes()
	if _, _, err := Parse(en2, privacy, nil); !errors.Is(err, ErrNoMAC) {
		t.Errorf("DUID-EN from a privacy address: %v, want ErrNoMAC", err)
	}
}

func TestParseClass(t *testing.T) {
	_, c, err := Parse(message(t, dhcpv6.MessageTypeSolicit, uefiPXE, withIA("fd42:231::5"), dhcpv6.WithRapidCommit).ToBytes(), testPeer, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Client{MAC: testMAC, MACSource: "duid-llt", DUID: clientDUID, Type: dhcpv6.MessageTypeSolicit, XID: dhcpv6.TransactionID{0xab, 0xcd, 0xef},
		Arch: hw.ArchEFIx64, VendorClass: "PXEClient:Arch:00007:UNDI:003000", RapidCommit: true, Peer: testPeer,
		IAs: []IA{{IAID: testIAID, Addrs: []netip.Addr{netip.MustParseAddr("fd42:231::5")}}}}
	if diff := cmp.Diff(want, c, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b dhcpv6.DUID) bool { return a == nil && b == nil || a != nil && a.Equal(b) }), cmp.AllowUnexported(Hop{})); diff != "" {
		t.Errorf("client (-want +got):\n%s", diff)
	}
	// Without option 61 the arch comes from the vendor class.
	_, c, _ = Parse(message(t, dhcpv6.MessageTypeSolicit, nil, dhcpv6.WithClientID(clientDUID),
		dhcpv6.WithOption(&dhcpv6.OptVendorClass{EnterpriseNumber: 343, Data: [][]byte{[]byte("PXEClient:Arch:00011:UNDI:003000")}})).ToBytes(), testPeer, nil)
	if c.Arch != hw.ArchEFIARM64 || !c.PXE() || c.IPXE {
		t.Errorf("arch from vendor class: %s, PXE %v", c.Arch, c.PXE())
	}
	_, c, _ = Parse(message(t, dhcpv6.MessageTypeInformationRequest, ipxe).ToBytes(), testPeer, nil)
	if !c.IPXE || !c.PXE() || c.Arch.Known() {
		t.Errorf("iPXE: %+v", c)
	}
}

// TestParseBadInput: each way a datagram can be wrong is an error
// wrapping ErrMalformed, never a panic.
func TestParseBadInput(t *testing.T) {
	good := message(t, dhcpv6.MessageTypeSolicit, plain, withIA()).ToBytes()
	nest := func(n int) []byte {
		var m dhcpv6.DHCPv6 = message(t, dhcpv6.MessageTypeSolicit, plain, withIA())
		for range n {
			m = relayed(t, m, "2001:db8:9::1", hw.MAC{})
		}
		return m.ToBytes()
	}
	pastEnd := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(pastEnd[6:], 200) // the first option claims 200 bytes
	innerPastEnd := nest(1)
	binary.BigEndian.PutUint16(innerPastEnd[34+4+4+6:], 300) // the inner message's first option
	noRelayMsg := nest(1)[:34]
	advertise := message(t, dhcpv6.MessageTypeAdvertise, plain).ToBytes()
	tests := map[string][]byte{
		"empty":                        nil,
		"header only":                  good[:3],
		"option length past the end":   pastEnd,
		"option past the end, relayed": innerPastEnd,
		"truncated option header":      append(good[:len(good):len(good)], 0, 1),
		"an advertise from a client":   advertise,
		"a relay-repl":                 append([]byte{13}, nest(1)[1:]...),
		"unknown message type 99":      append([]byte{99}, good[1:]...),
		"relay without message":        noRelayMsg,
		"relay header cut":             nest(1)[:20],
		"nine relays deep":             nest(HopLimit + 1),
		"no client id":                 message(t, dhcpv6.MessageTypeSolicit, nil, withIA()).ToBytes(),
		"oversized":                    make([]byte, maxPacket+1),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := Parse(b, testPeer, nil); !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse = %v, want ErrMalformed", err)
			}
		})
	}
	if _, _, err := Parse(nest(HopLimit), testPeer, nil); err != nil {
		t.Errorf("%d relays (the limit): %v", HopLimit, err)
	}
}
