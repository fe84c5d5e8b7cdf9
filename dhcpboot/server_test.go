package dhcpboot

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

// loopback starts s on a 127.0.0.1 socket and returns a client socket whose
// address is where s broadcasts, plus the server's address.
func loopback(t *testing.T, s *Server, port4011 bool) (client net.PacketConn, server net.Addr) {
	t.Helper()
	sc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client, err = net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	ca := client.LocalAddr().(*net.UDPAddr).AddrPort()
	s.BroadcastAddr = ca
	s.ClientPort = ca.Port()
	done := make(chan error, 1)
	go func() {
		if port4011 {
			done <- s.ServeBootServer(sc)
		} else {
			done <- s.Serve(sc)
		}
	}()
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after Shutdown, want nil", err)
		}
	})
	return client, sc.LocalAddr()
}

// exchange sends req and waits for one reply (nil after a short wait).
func exchange(t *testing.T, client net.PacketConn, server net.Addr, req []byte, wait time.Duration) *dhcpv4.DHCPv4 {
	t.Helper()
	if _, err := client.WriteTo(req, server); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	client.SetReadDeadline(time.Now().Add(wait))
	n, _, err := client.ReadFrom(buf)
	if err != nil {
		return nil
	}
	reply, err := dhcpv4.FromBytes(buf[:n])
	if err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	return reply
}

// dora runs DISCOVER, REQUEST for the offered address, and returns the ACK.
func dora(t *testing.T, client net.PacketConn, server net.Addr, kind []dhcpv4.Modifier, extra ...dhcpv4.Modifier) (offer, ack *dhcpv4.DHCPv4) {
	t.Helper()
	offer = exchange(t, client, server, request(t, dhcpv4.MessageTypeDiscover, kind, extra...).ToBytes(), 5*time.Second)
	if offer == nil || offer.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("no OFFER: %v", offer)
	}
	req := request(t, dhcpv4.MessageTypeRequest, kind, append(extra,
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(offer.YourIPAddr)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(offer.ServerIdentifier())))...)
	ack = exchange(t, client, server, req.ToBytes(), 5*time.Second)
	if ack == nil {
		t.Fatal("no reply to REQUEST")
	}
	return offer, ack
}

func TestServeFullModeLoopback(t *testing.T) {
	s := &Server{Mode: ModeFull, Address: testSelf, Policy: testPolicy(), Subnets: testSubnets()}
	client, server := loopback(t, s, false)

	offer, _ := dora(t, client, server, uefiFirmware)
	if got := offer.YourIPAddr.String(); got != "10.231.0.100" {
		t.Errorf("offered %s, want 10.231.0.100", got)
	}
	if offer.BootFileName != "snponly.efi" {
		t.Errorf("boot file %q, want snponly.efi", offer.BootFileName)
	}
	// iPXE on the same machine asks again and keeps its address.
	_, ack := dora(t, client, server, ipxeBIOS)
	if ack.MessageType() != dhcpv4.MessageTypeAck || ack.YourIPAddr.String() != "10.231.0.100" {
		t.Fatalf("iPXE REQUEST: %v", ack.Summary())
	}
	if got := ack.BootFileNameOption(); got != "http://10.231.0.1:8080/boot.ipxe" {
		t.Errorf("iPXE got boot file %q", got)
	}
	if got, ok := s.Pool(0).Lookup(testMAC); !ok || got != netip.MustParseAddr("10.231.0.100") {
		t.Errorf("lease not recorded: %v %v", got, ok)
	}

	// Garbage is counted and dropped; the server keeps answering.
	bootReply := request(t, dhcpv4.MessageTypeDiscover, biosFirmware)
	bootReply.OpCode = dhcpv4.OpcodeBootReply
	badCookie := request(t, dhcpv4.MessageTypeDiscover, biosFirmware).ToBytes()
	badCookie[236] ^= 0xff
	truncatedOpts := request(t, dhcpv4.MessageTypeDiscover, biosFirmware).ToBytes()
	truncatedOpts = truncatedOpts[:len(truncatedOpts)-3]
	junk := [][]byte{{}, {1}, make([]byte, 300), []byte("GET / HTTP/1.0\r\n\r\n"),
		make([]byte, 2000), bootReply.ToBytes(), badCookie, truncatedOpts}
	for _, j := range junk {
		if r := exchange(t, client, server, j, 100*time.Millisecond); r != nil {
			t.Errorf("reply to junk %q", j)
		}
	}
	if r := exchange(t, client, server, request(t, dhcpv4.MessageTypeDiscover, biosFirmware).ToBytes(), 5*time.Second); r == nil {
		t.Fatal("server stopped answering after junk")
	}
	if got := s.Stats().Outcome(OutMalformed); got != uint64(len(junk)) {
		t.Errorf("malformed = %d, want %d; counters %v", got, len(junk), s.Stats().Counters())
	}
	// A reply is counted once it is sent, so the client can see the last
	// offer a moment before the counter does.
	got := s.Stats().Get(MsgDiscover, OutOffer)
	for deadline := time.Now().Add(2 * time.Second); got < 3 && time.Now().Before(deadline); got = s.Stats().Get(MsgDiscover, OutOffer) {
		time.Sleep(5 * time.Millisecond)
	}
	if got != 3 {
		t.Errorf("discover/offer = %d, want 3", got)
	}
}

func TestServeProxyBootServerLoopback(t *testing.T) {
	s := &Server{Mode: ModeProxy, Address: testSelf, Policy: testPolicy()}
	client, server := loopback(t, s, true)
	req := request(t, dhcpv4.MessageTypeRequest, uefiFirmware, dhcpv4.WithClientIP([]byte{127, 0, 0, 1}))
	ack := exchange(t, client, server, req.ToBytes(), 5*time.Second)
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("no ACK on the boot server port: %v", ack)
	}
	if !ack.YourIPAddr.IsUnspecified() {
		t.Errorf("proxy handed out an address: %v", ack.YourIPAddr)
	}
	if ack.BootFileName != "snponly.efi" {
		t.Errorf("boot file %q", ack.BootFileName)
	}
	if r := exchange(t, client, server, request(t, dhcpv4.MessageTypeRequest, plainClient).ToBytes(), 200*time.Millisecond); r != nil {
		t.Errorf("proxy answered a non-PXE client: %v", r.Summary())
	}
	if got := s.Stats().Get(MsgRequest, OutIgnored); got != 1 {
		t.Errorf("request/ignored = %d, want 1", got)
	}
}

// TestLeasesSurviveRestart runs a server on a lease file, stops it, opens
// the file again in a new server and checks the client keeps its address
// while another client cannot have it.
func TestLeasesSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", LeaseFileName)
	run := func(f func(client net.PacketConn, server net.Addr, s *Server)) {
		db, err := OpenLeaseDB(path)
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{Mode: ModeFull, Address: testSelf, Policy: testPolicy(), Subnets: testSubnets(), Leases: db}
		sc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		client, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		s.BroadcastAddr = client.LocalAddr().(*net.UDPAddr).AddrPort()
		done := make(chan error, 1)
		go func() { done <- s.Serve(sc) }()
		f(client, sc.LocalAddr(), s)
		s.Shutdown(context.Background())
		<-done
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var first string
	run(func(client net.PacketConn, server net.Addr, s *Server) {
		_, ack := dora(t, client, server, plainClient)
		first = ack.YourIPAddr.String()
	})
	run(func(client net.PacketConn, server net.Addr, s *Server) {
		if got, ok := s.Pool(0).Lookup(testMAC); !ok || got.String() != first {
			t.Fatalf("after restart Lookup = %v %v, want %s", got, ok, first)
		}
		other := dhcpv4.WithHwAddr(hw.MAC{2, 0, 0, 0, 0, 9}.HardwareAddr())
		offer := exchange(t, client, server, request(t, dhcpv4.MessageTypeDiscover, plainClient, other,
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(first)))).ToBytes(), 5*time.Second)
		if offer == nil || offer.YourIPAddr.String() == first {
			t.Fatalf("another client was offered %v, the first client's %s", offer, first)
		}
		nak := exchange(t, client, server, request(t, dhcpv4.MessageTypeRequest, plainClient, other,
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(first)))).ToBytes(), 5*time.Second)
		if nak == nil || nak.MessageType() != dhcpv4.MessageTypeNak {
			t.Fatalf("another client requesting %s: %v, want NAK", first, nak)
		}
		// INIT-REBOOT: the first client asks for its address without option 54.
		ack := exchange(t, client, server, request(t, dhcpv4.MessageTypeRequest, plainClient,
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(first)))).ToBytes(), 5*time.Second)
		if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck || ack.YourIPAddr.String() != first {
			t.Fatalf("first client after restart: %v, want ACK %s", ack, first)
		}
	})
}

func TestOnPacket(t *testing.T) {
	var mu sync.Mutex
	var got []string
	s := &Server{Mode: ModeProxy, Address: testSelf, Policy: testPolicy(), OnPacket: func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, e.Type+" "+e.Outcome.String()+" "+e.Arch.String()+" "+e.Decision.Reason)
	}}
	client, server := loopback(t, s, false)
	exchange(t, client, server, request(t, dhcpv4.MessageTypeDiscover, uefiFirmware).ToBytes(), 5*time.Second)
	// A phone asking for an address is not a boot client: no event.
	exchange(t, client, server, request(t, dhcpv4.MessageTypeDiscover, plainClient).ToBytes(), 200*time.Millisecond)
	// A boot client this server has nothing for is one.
	exchange(t, client, server, request(t, dhcpv4.MessageTypeDiscover, append(uefiFirmware[:1:1], dhcpv4.WithOption(dhcpv4.OptClientArch(10)))).ToBytes(), 200*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"DISCOVER offer efi-x64 firmware-pxe", "DISCOVER ignored efi-arm32 no-boot-file"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
