package dhcpboot

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// discardConn is a PacketConn that drops what is written to it.
type discardConn struct{ net.PacketConn }

func (discardConn) WriteTo(b []byte, _ net.Addr) (int, error) { return len(b), nil }

// BenchmarkExchange measures the server side of one DISCOVER-OFFER and
// REQUEST-ACK exchange in full mode, leases in memory, for a new client
// each time: parsing, decision, allocation and reply encoding.
func BenchmarkExchange(b *testing.B) {
	subnets := testSubnets()
	subnets[0].Prefix = netip.MustParsePrefix("10.231.0.0/16")
	subnets[0].Range = Range{netip.MustParseAddr("10.231.1.0"), netip.MustParseAddr("10.231.255.250")}
	quiet := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s := &Server{Mode: ModeFull, Address: testSelf, Policy: testPolicy(), Subnets: subnets, RateLimit: RateLimit{PerSecond: -1}, Logger: quiet}
	s.init()
	l := listener{conn: discardConn{}}
	peer := &net.UDPAddr{IP: net.IPv4(10, 231, 0, 2), Port: 68}
	var discs, reqs [][]byte
	for i := range 60000 {
		mac := net.HardwareAddr{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)}
		d := request(b, dhcpv4.MessageTypeDiscover, plainClient, dhcpv4.WithHwAddr(mac))
		r := request(b, dhcpv4.MessageTypeRequest, plainClient, dhcpv4.WithHwAddr(mac),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(testSelf.AsSlice())),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IP{10, 231, byte(1 + i/256), byte(i)})))
		discs, reqs = append(discs, d.ToBytes()), append(reqs, r.ToBytes())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s.servePacket(l, discs[i%len(discs)], peer)
		s.servePacket(l, reqs[i%len(reqs)], peer)
	}
}
