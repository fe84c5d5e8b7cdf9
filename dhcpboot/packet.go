package dhcpboot

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// servePacket handles one datagram: parse once, decide, reply. A packet
// that cannot be parsed is counted and dropped; a panic while handling one
// is recovered, logged and counted, and the server goes on.
func (s *Server) servePacket(conn net.PacketConn, b []byte, peer net.Addr, port4011 bool) {
	s.stats.Received.Add(1)
	defer func() {
		if r := recover(); r != nil {
			s.stats.Failed.Add(1)
			s.Logger.Error("dhcp: panic handling packet", "peer", peer, "panic", fmt.Sprint(r))
		}
	}()
	req, err := dhcpv4.FromBytes(b)
	if err == nil {
		var c Client
		c, err = ParseClient(req)
		if err == nil {
			s.answer(conn, req, c, peer, port4011)
			return
		}
	}
	s.stats.Malformed.Add(1)
	s.Logger.Debug("dhcp: dropped malformed packet", "peer", peer, "bytes", len(b), "err", err)
}

func (s *Server) answer(conn net.PacketConn, req *dhcpv4.DHCPv4, c Client, peer net.Addr, port4011 bool) {
	log := s.Logger.With("mac", c.MAC.String(), "xid", c.XID.String(), "type", c.Type.String(),
		"arch", c.Arch.String(), "mode", s.Mode.String())
	if port4011 {
		log = log.With("port", 4011)
	}
	d := Decide(c, s.Policy)
	reply, err := s.handle(req, c, d, port4011)
	if err != nil {
		if isIgnore(err) {
			s.stats.Ignored.Add(1)
			log.Debug("dhcp: no reply", "reason", err, "vendor_class", c.VendorClass, "user_class", c.UserClass)
			return
		}
		s.stats.Failed.Add(1)
		log.Warn("dhcp: cannot answer", "err", err)
		return
	}
	dst := s.destination(req, reply, peer, port4011)
	if _, err := conn.WriteTo(reply.ToBytes(), dst); err != nil {
		s.stats.Failed.Add(1)
		log.Warn("dhcp: send reply", "to", dst, "err", err)
		return
	}
	s.stats.Replied.Add(1)
	attrs := []any{"reply", reply.MessageType().String(), "to", dst.String(), "decision", d.String()}
	if ip := addr4(reply.YourIPAddr); ip.IsValid() {
		attrs = append(attrs, "yiaddr", ip.String())
	}
	log.Info("dhcp: answered", attrs...)
}

// destination picks where a reply goes (RFC 2131 section 4.1): to the
// relay when relayed, back to the sender on the PXE port, unicast to a
// client that already has an address, else broadcast (a client without an
// address cannot receive unicast before it knows its address without ARP
// tricks that need a raw socket).
func (s *Server) destination(req, reply *dhcpv4.DHCPv4, peer net.Addr, port4011 bool) net.Addr {
	if port4011 {
		return peer
	}
	if giaddr := addr4(req.GatewayIPAddr); giaddr.IsValid() {
		return net.UDPAddrFromAddrPort(netip.AddrPortFrom(giaddr, dhcpv4.ServerPort))
	}
	ciaddr := addr4(req.ClientIPAddr)
	if ciaddr.IsValid() && reply.MessageType() != dhcpv4.MessageTypeNak {
		port := s.ClientPort
		if port == 0 {
			port = dhcpv4.ClientPort
		}
		return net.UDPAddrFromAddrPort(netip.AddrPortFrom(ciaddr, port))
	}
	if s.BroadcastAddr.IsValid() {
		return net.UDPAddrFromAddrPort(s.BroadcastAddr)
	}
	return &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
}
