package dhcp6boot

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/hw"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// loopback serves s on [::1]:0 and returns a client socket and the
// server's address.
func loopback(t *testing.T, s *Server) (*net.UDPConn, *net.UDPAddr) {
	t.Helper()
	srv, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	go s.Serve(srv)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	cl, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl, srv.LocalAddr().(*net.UDPAddr)
}

// exchange sends m and reads the reply, failing after a second.
func exchange(t *testing.T, cl *net.UDPConn, to *net.UDPAddr, m dhcpv6.DHCPv6) *dhcpv6.Message {
	t.Helper()
	if _, err := cl.WriteTo(m.ToBytes(), to); err != nil {
		t.Fatal(err)
	}
	cl.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 1500)
	n, _, err := cl.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no reply to %s: %v", m.Type(), err)
	}
	p, err := dhcpv6.FromBytes(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	inner, err := p.GetInnerMessage()
	if err != nil {
		t.Fatal(err)
	}
	return inner
}

func addrOf(t *testing.T, m *dhcpv6.Message) netip.Addr {
	t.Helper()
	ia := m.Options.OneIANA()
	if ia == nil || ia.Options.OneAddress() == nil {
		t.Fatalf("%s without an address: %s", m.Type(), m.Summary())
	}
	a, _ := netip.AddrFromSlice(ia.Options.OneAddress().IPv6Addr)
	return a
}

// TestServeStateful runs a client's whole life over a loopback socket:
// Solicit, Request, Renew, Confirm, Release and Solicit again, each
// counted, each reply for this MAC (the client's EUI-64 is not on
// loopback, so it names itself by DUID-LLT).
func TestServeStateful(t *testing.T) {
	s := testServer(dhcpboot.ModeFull)
	events := make(chan Event, 16)
	s.OnPacket = func(e Event) { events <- e }
	cl, to := loopback(t, s)
	adv := exchange(t, cl, to, message(t, dhcpv6.MessageTypeSolicit, uefiPXE, withIA()))
	a := addrOf(t, adv)
	if adv.Type() != dhcpv6.MessageTypeAdvertise || adv.Options.BootFileURL() != "tftp://[fd42:231::1]/snponly.efi" {
		t.Errorf("advertise: %s", adv.Summary())
	}
	rep := exchange(t, cl, to, message(t, dhcpv6.MessageTypeRequest, uefiPXE, ours, withIA(a.String())))
	if addrOf(t, rep) != a || rep.Type() != dhcpv6.MessageTypeReply {
		t.Errorf("request: %s", rep.Summary())
	}
	if got := addrOf(t, exchange(t, cl, to, message(t, dhcpv6.MessageTypeRenew, plain, ours, withIA(a.String())))); got != a {
		t.Errorf("renew moved the client to %s", got)
	}
	if st := exchange(t, cl, to, message(t, dhcpv6.MessageTypeConfirm, plain, withIA(a.String()))).Options.Status(); st == nil || st.StatusCode != iana.StatusSuccess {
		t.Errorf("confirm: %v", st)
	}
	exchange(t, cl, to, message(t, dhcpv6.MessageTypeRelease, plain, ours, withIA(a.String())))
	if got := addrOf(t, exchange(t, cl, to, message(t, dhcpv6.MessageTypeSolicit, plain, withIA()))); got != a {
		t.Errorf("after release, solicit offered %s, want %s back", got, a)
	}
	bound := map[string]netip.Addr{}
	for range 6 {
		e := <-events
		if e.Bound.IsValid() {
			bound[e.Type] = e.Bound
		}
	}
	if bound["REQUEST"] != a || bound["RENEW"] != a || len(bound) != 2 {
		t.Errorf("bindings %v: want the Request's and the Renew's only, to %s", bound, a)
	}
	for typ, out := range map[MsgType]Outcome{MsgSolicit: OutAdvertise, MsgRequest: OutReply, MsgRenew: OutReply,
		MsgConfirm: OutReply, MsgRelease: OutReply} {
		if s.Stats().Get(typ, out) == 0 {
			t.Errorf("%s/%s not counted: %v", typ, out, s.Stats().Counters())
		}
	}
}

// TestServeDropsBadInput: garbage, a relay nested too deep and a message
// from a server are dropped and counted, and the server goes on.
func TestServeDropsBadInput(t *testing.T) {
	s := testServer(dhcpboot.ModeFull)
	cl, to := loopback(t, s)
	var deep dhcpv6.DHCPv6 = message(t, dhcpv6.MessageTypeSolicit, plain, withIA())
	for range HopLimit + 1 {
		deep = relayed(t, deep, "2001:db8:9::1", hw.MAC{})
	}
	for _, b := range [][]byte{{1, 2}, {99, 0, 0, 0, 0, 1, 0, 200}, deep.ToBytes(), message(t, dhcpv6.MessageTypeReply, plain).ToBytes()} {
		cl.WriteTo(b, to)
	}
	exchange(t, cl, to, message(t, dhcpv6.MessageTypeSolicit, plain, withIA()))
	if n := s.Stats().Outcome(OutMalformed); n != 4 {
		t.Errorf("malformed counted %d times, want 4: %v", n, s.Stats().Counters())
	}
}

// TestProxy: a proxy answers boot clients only, without addresses, and
// binds the address firmware asks its boot server from.
func TestProxy(t *testing.T) {
	s := testServer(dhcpboot.ModeProxy)
	_, res := handleBytes(t, s, message(t, dhcpv6.MessageTypeSolicit, plain, withIA()).ToBytes(), testPeer, false)
	if res.reply != nil {
		t.Errorf("proxy answered a plain client: %s", res.reply.Summary())
	}
	_, res = handleBytes(t, s, message(t, dhcpv6.MessageTypeRequest, uefiPXE, ours, withIA()).ToBytes(), testPeer, false)
	if res.reply != nil {
		t.Error("proxy answered a Request on 547: that is the network's server's")
	}
	global := netip.MustParseAddr("2001:db8:1::77")
	_, res = handleBytes(t, s, message(t, dhcpv6.MessageTypeRequest, uefiPXE, ours).ToBytes(), global, true)
	if res.reply == nil || res.bound != global {
		t.Errorf("port 4011 from %s: reply %v, bound %s", global, res.reply != nil, res.bound)
	}
	_, res = handleBytes(t, s, message(t, dhcpv6.MessageTypeRequest, uefiPXE, ours).ToBytes(), testPeer, true)
	if res.bound.IsValid() {
		t.Errorf("a link-local source was bound: %s", res.bound)
	}
}

// TestServerIDs applies RFC 8415 section 16.
func TestServerIDs(t *testing.T) {
	theirs := dhcpv6.WithServerID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr{2, 9, 9, 9, 9, 9}})
	tests := map[string]struct {
		mt    dhcpv6.MessageType
		extra []dhcpv6.Modifier
		reply bool
	}{
		"request for us":          {dhcpv6.MessageTypeRequest, []dhcpv6.Modifier{ours, withIA()}, true},
		"request for another":     {dhcpv6.MessageTypeRequest, []dhcpv6.Modifier{theirs, withIA()}, false},
		"request naming none":     {dhcpv6.MessageTypeRequest, []dhcpv6.Modifier{withIA()}, false},
		"solicit naming a server": {dhcpv6.MessageTypeSolicit, []dhcpv6.Modifier{ours, withIA()}, false},
		"rebind naming a server":  {dhcpv6.MessageTypeRebind, []dhcpv6.Modifier{ours, withIA()}, false},
		"renew for another":       {dhcpv6.MessageTypeRenew, []dhcpv6.Modifier{theirs, withIA()}, false},
		"inforeq for another":     {dhcpv6.MessageTypeInformationRequest, []dhcpv6.Modifier{theirs}, false},
		"inforeq for anyone":      {dhcpv6.MessageTypeInformationRequest, nil, true},
		"confirm naming nothing":  {dhcpv6.MessageTypeConfirm, []dhcpv6.Modifier{withIA()}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, res := handleBytes(t, testServer(dhcpboot.ModeFull), message(t, tc.mt, plain, tc.extra...).ToBytes(), testPeer, false)
			if (res.reply != nil) != tc.reply {
				t.Errorf("reply %v, want %v (%s)", res.reply != nil, tc.reply, res.why)
			}
		})
	}
}
