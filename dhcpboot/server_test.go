package dhcpboot

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

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

func TestServeFullModeLoopback(t *testing.T) {
	s := &Server{Mode: ModeFull, Address: testSelf, Policy: testPolicy(), Network: testNetwork()}
	client, server := loopback(t, s, false)

	offer := exchange(t, client, server, request(t, dhcpv4.MessageTypeDiscover, uefiFirmware).ToBytes(), 5*time.Second)
	if offer == nil || offer.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("no OFFER: %v", offer)
	}
	if got := offer.YourIPAddr.String(); got != "10.231.0.100" {
		t.Errorf("offered %s, want 10.231.0.100", got)
	}
	if offer.BootFileName != "snponly.efi" {
		t.Errorf("boot file %q, want snponly.efi", offer.BootFileName)
	}
	req := request(t, dhcpv4.MessageTypeRequest, ipxeBIOS,
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(offer.YourIPAddr)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(testSelf.AsSlice())))
	ack := exchange(t, client, server, req.ToBytes(), 5*time.Second)
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("no ACK: %v", ack)
	}
	if got := ack.BootFileNameOption(); got != "http://10.231.0.1:8080/boot.ipxe" {
		t.Errorf("iPXE got boot file %q", got)
	}
	if got, ok := s.Leases().Lookup(testMAC); !ok || got != netip.MustParseAddr("10.231.0.100") {
		t.Errorf("lease not recorded: %v %v", got, ok)
	}

	// Garbage is counted and dropped; the server keeps answering.
	for _, junk := range [][]byte{{}, {1}, make([]byte, 300), []byte("GET / HTTP/1.0\r\n\r\n")} {
		if r := exchange(t, client, server, junk, 100*time.Millisecond); r != nil {
			t.Errorf("reply to junk %q", junk)
		}
	}
	if r := exchange(t, client, server, request(t, dhcpv4.MessageTypeDiscover, biosFirmware).ToBytes(), 5*time.Second); r == nil {
		t.Fatal("server stopped answering after junk")
	}
	if got := s.Stats().Malformed.Load(); got != 4 {
		t.Errorf("Malformed = %d, want 4", got)
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
	if got := s.Stats().Ignored.Load(); got != 1 {
		t.Errorf("Ignored = %d, want 1", got)
	}
}
