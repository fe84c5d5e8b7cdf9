package dhcpboot

import (
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/bootwright/bootwright/internal/golden"
)

// TestReplies renders each reply as a summary plus its wire bytes and
// compares them with golden files, so any change to what goes on the wire
// shows up in review.
func TestReplies(t *testing.T) {
	reqIP := dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress([]byte{10, 231, 0, 100}))
	ourID := dhcpv4.WithOption(dhcpv4.OptServerIdentifier(testSelf.AsSlice()))
	tests := map[string]struct {
		mode     Mode
		port4011 bool
		req      func(t *testing.T) *dhcpv4.DHCPv4
	}{
		"proxy_offer_bios": {ModeProxy, false, func(t *testing.T) *dhcpv4.DHCPv4 {
			return request(t, dhcpv4.MessageTypeDiscover, biosFirmware)
		}},
		"proxy_offer_uefi": {ModeProxy, false, func(t *testing.T) *dhcpv4.DHCPv4 {
			return request(t, dhcpv4.MessageTypeDiscover, uefiFirmware)
		}},
		"proxy_offer_http": {ModeProxy, false, func(t *testing.T) *dhcpv4.DHCPv4 {
			return request(t, dhcpv4.MessageTypeDiscover, uefiHTTP)
		}},
		"proxy_ack_4011_ipxe": {ModeProxy, true, func(t *testing.T) *dhcpv4.DHCPv4 {
			return request(t, dhcpv4.MessageTypeRequest, ipxeBIOS, dhcpv4.WithClientIP([]byte{10, 231, 0, 50}))
		}},
		"proxy_ack_4011_uefi": {ModeProxy, true, func(t *testing.T) *dhcpv4.DHCPv4 {
			return request(t, dhcpv4.MessageTypeRequest, uefiFirmware, dhcpv4.WithClientIP([]byte{10, 231, 0, 50}))
		}},
		"full_offer_uefi": {ModeFull, false, func(t *testing.T) *dhcpv4.DHCPv4 {
			return request(t, dhcpv4.MessageTypeDiscover, uefiFirmware)
		}},
		"full_ack_ipxe": {ModeFull, false, func(t *testing.T) *dhcpv4.DHCPv4 {
			return request(t, dhcpv4.MessageTypeRequest, ipxeBIOS, reqIP, ourID)
		}},
		"full_offer_plain_relayed": {ModeFull, false, func(t *testing.T) *dhcpv4.DHCPv4 {
			return request(t, dhcpv4.MessageTypeDiscover, plainClient, dhcpv4.WithGatewayIP([]byte{10, 9, 0, 1}),
				dhcpv4.WithGeneric(dhcpv4.OptionRelayAgentInformation, []byte{1, 3, 'e', 't', '0'}))
		}},
		"full_nak_wrong_network": {ModeFull, false, func(t *testing.T) *dhcpv4.DHCPv4 {
			return request(t, dhcpv4.MessageTypeRequest, plainClient,
				dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress([]byte{192, 168, 1, 9})))
		}},
		"full_nak_relayed": {ModeFull, false, func(t *testing.T) *dhcpv4.DHCPv4 {
			return request(t, dhcpv4.MessageTypeRequest, plainClient, dhcpv4.WithGatewayIP([]byte{10, 9, 0, 1}),
				dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress([]byte{10, 231, 0, 100})))
		}},
		"full_inform": {ModeFull, false, func(t *testing.T) *dhcpv4.DHCPv4 {
			return request(t, dhcpv4.MessageTypeInform, biosFirmware, dhcpv4.WithClientIP([]byte{10, 231, 0, 77}))
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := &Server{Mode: tc.mode, Address: testSelf, Policy: testPolicy(), Subnets: testSubnets()}
			req := tc.req(t)
			// The request too: FuzzPacket seeds from these.
			golden.Assert(t, filepath.Join("testdata", "requests", name+".hex"), hexDump(req.ToBytes()))
			res := handleOne(t, s, req, tc.port4011)
			if res.reply == nil {
				t.Fatalf("handle: no reply: %s", res.why)
			}
			raw := res.reply.ToBytes()
			// The wire form must parse back into the same reply.
			back, err := dhcpv4.FromBytes(raw)
			if err != nil {
				t.Fatalf("reply does not parse: %v", err)
			}
			golden.Assert(t, filepath.Join("testdata", name+".golden"), back.Summary()+"\n"+hexDump(raw))
		})
	}
}

func TestProxyIgnores(t *testing.T) {
	tests := map[string]struct {
		port4011 bool
		req      *dhcpv4.DHCPv4
	}{
		"non-pxe discover":           {false, request(t, dhcpv4.MessageTypeDiscover, plainClient)},
		"request for the lan server": {false, request(t, dhcpv4.MessageTypeRequest, uefiFirmware, dhcpv4.WithOption(dhcpv4.OptServerIdentifier([]byte{10, 231, 0, 254})))},
		"release":                    {false, request(t, dhcpv4.MessageTypeRelease, uefiFirmware)},
		"discover on 4011":           {true, request(t, dhcpv4.MessageTypeDiscover, uefiFirmware)},
		"non-pxe request on 4011":    {true, request(t, dhcpv4.MessageTypeRequest, plainClient)},
		"arm32 without an nbp on 67": {false, request(t, dhcpv4.MessageTypeDiscover, append(uefiFirmware[:1:1], dhcpv4.WithOption(dhcpv4.OptClientArch(10))))},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := &Server{Mode: ModeProxy, Address: testSelf, Policy: testPolicy()}
			res := handleOne(t, s, tc.req, tc.port4011)
			if res.reply != nil || res.out != OutIgnored || res.why == "" {
				t.Errorf("handle = %+v; want no reply and an ignore reason", res)
			}
		})
	}
}

func hexDump(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(32, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]))
		sb.WriteByte('\n')
		b = b[n:]
	}
	return sb.String()
}
