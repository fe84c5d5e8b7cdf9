package dhcp6boot

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/golden"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// replyCase is one request and the server it goes to; prepare, if set,
// runs requests before it (a lease held, a pool filled).
type replyCase struct {
	mode     dhcpboot.Mode
	port4011 bool
	req      func(t *testing.T) dhcpv6.DHCPv6
	prepare  func(t *testing.T, s *Server)
}

// replyCases cover every message kind a client sends, in both modes,
// directly and relayed. TestReplies keeps each request under
// testdata/requests (the fuzz seeds) and each reply under testdata.
func replyCases() map[string]replyCase {
	full, proxy := dhcpboot.ModeFull, dhcpboot.ModeProxy
	msg := func(mt dhcpv6.MessageType, kind []dhcpv6.Modifier, extra ...dhcpv6.Modifier) func(t *testing.T) dhcpv6.DHCPv6 {
		return func(t *testing.T) dhcpv6.DHCPv6 { return message(t, mt, kind, extra...) }
	}
	held := func(t *testing.T, s *Server) { // testMAC holds fd42:231::100
		if _, err := s.pools[0].Commit(testMAC, mustAddr("fd42:231::100"), mustAddr(""), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]replyCase{
		"full_advertise_uefi":          {mode: full, req: msg(dhcpv6.MessageTypeSolicit, uefiPXE, withIA())},
		"full_advertise_http":          {mode: full, req: msg(dhcpv6.MessageTypeSolicit, uefiHTTP, withIA())},
		"full_advertise_plain_two_ias": {mode: full, req: msg(dhcpv6.MessageTypeSolicit, plain, withIA(), dhcpv6.WithIAID([4]byte{0, 0, 0, 2}))},
		"full_advertise_exhausted": {mode: full, req: msg(dhcpv6.MessageTypeSolicit, plain, withIA()), prepare: func(t *testing.T, s *Server) {
			for i, a := range []string{"fd42:231::100", "fd42:231::101"} {
				if _, err := s.pools[0].Commit([6]byte{2, 0, 0, 0, 0, byte(i)}, mustAddr(a), mustAddr(""), time.Hour); err != nil {
					t.Fatal(err)
				}
			}
		}},
		"full_reply_request_uefi":      {mode: full, req: msg(dhcpv6.MessageTypeRequest, uefiPXE, ours, withIA("fd42:231::100"))},
		"full_reply_request_notonlink": {mode: full, req: msg(dhcpv6.MessageTypeRequest, plain, ours, withIA("2001:db8:77::5"))},
		"full_reply_rapid_ipxe": {mode: full, req: func(t *testing.T) dhcpv6.DHCPv6 {
			return message(t, dhcpv6.MessageTypeSolicit, ipxe, withIA(), dhcpv6.WithRapidCommit)
		}},
		"full_reply_renew":             {mode: full, req: msg(dhcpv6.MessageTypeRenew, plain, ours, withIA("fd42:231::100")), prepare: held},
		"full_reply_rebind_notonlink":  {mode: full, req: msg(dhcpv6.MessageTypeRebind, plain, withIA("2001:db8:77::5")), prepare: held},
		"full_reply_confirm_onlink":    {mode: full, req: msg(dhcpv6.MessageTypeConfirm, plain, withIA("fd42:231::100"))},
		"full_reply_confirm_notonlink": {mode: full, req: msg(dhcpv6.MessageTypeConfirm, plain, withIA("2001:db8:77::5"))},
		"full_reply_release":           {mode: full, req: msg(dhcpv6.MessageTypeRelease, plain, ours, withIA("fd42:231::100")), prepare: held},
		"full_reply_decline":           {mode: full, req: msg(dhcpv6.MessageTypeDecline, plain, ours, withIA("fd42:231::100")), prepare: held},
		"full_reply_inforeq_ipxe":      {mode: full, req: msg(dhcpv6.MessageTypeInformationRequest, ipxe)},
		"full_relayed_advertise_uefi": {mode: full, req: func(t *testing.T) dhcpv6.DHCPv6 {
			return relayed(t, message(t, dhcpv6.MessageTypeSolicit, uefiPXE, withIA()), "2001:db8:9::1", testMAC)
		}},
		"full_relayed_twice_request_ipxe": {mode: full, req: func(t *testing.T) dhcpv6.DHCPv6 {
			inner := relayed(t, message(t, dhcpv6.MessageTypeRequest, ipxe, ours, withIA("2001:db8:9::100")), "2001:db8:9::1", testMAC)
			return relayed(t, inner, "::", [6]byte{})
		}},
		"proxy_advertise_uefi":     {mode: proxy, req: msg(dhcpv6.MessageTypeSolicit, uefiPXE, withIA())},
		"proxy_advertise_http":     {mode: proxy, req: msg(dhcpv6.MessageTypeSolicit, uefiHTTP, withIA())},
		"proxy_reply_inforeq_ipxe": {mode: proxy, req: msg(dhcpv6.MessageTypeInformationRequest, ipxe)},
		// EDK2's boot server request: its Request without IAs, naming us.
		"proxy_reply_4011_uefi": {mode: proxy, port4011: true, req: msg(dhcpv6.MessageTypeRequest, uefiPXE, ours)},
	}
}

// TestReplies renders each reply as a summary plus its wire bytes and
// compares them with golden files, so any change to what goes on the wire
// shows up in review.
func TestReplies(t *testing.T) {
	for name, tc := range replyCases() {
		t.Run(name, func(t *testing.T) {
			s := testServer(tc.mode)
			s.init()
			if tc.prepare != nil {
				tc.prepare(t, s)
			}
			raw := tc.req(t).ToBytes()
			golden.Assert(t, filepath.Join("testdata", "requests", name+".hex"), hexDump(raw))
			r, res := handleBytes(t, s, raw, testPeer, tc.port4011)
			if res.reply == nil {
				t.Fatalf("no reply: %s", res.why)
			}
			wire, err := s.wire(r, res.reply)
			if err != nil {
				t.Fatal(err)
			}
			back, err := dhcpv6.FromBytes(wire)
			if err != nil {
				t.Fatalf("reply does not parse: %v", err)
			}
			golden.Assert(t, filepath.Join("testdata", name+".golden"),
				"outcome: "+res.out.String()+"\n"+back.Summary()+"\n"+hexDump(wire))
		})
	}
}
