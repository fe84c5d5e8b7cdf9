package dhcpboot

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/bootwright/bootwright/internal/hw"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// servePacket handles one datagram: parse once, admit, decide, reply.
// Every packet is counted once by type and outcome. A panic while handling
// one is recovered, logged and counted, and the server goes on.
func (s *Server) servePacket(l listener, b []byte, peer net.Addr) {
	typ := MsgUnknown
	defer func() {
		if r := recover(); r != nil {
			s.stats.add(typ, OutError)
			s.Logger.Error("dhcp: panic handling packet", "peer", peer, "panic", fmt.Sprint(r))
		}
	}()
	req, c, err := parsePacket(b)
	if err != nil {
		if req != nil {
			typ = msgTypeOf(req.MessageType())
		}
		s.stats.add(typ, OutMalformed)
		s.Logger.Debug("dhcp: dropped malformed packet", "peer", peer, "bytes", len(b), "err", err)
		return
	}
	typ = msgTypeOf(c.Type)
	now := time.Now()
	if s.own[peerAddr(peer)] {
		s.stats.add(typ, OutOwn)
		s.Logger.Debug("dhcp: ignored a packet from our own address", "peer", peer, "mac", c.MAC.String())
		return
	}
	mac := c.MAC
	r := query{req: req, c: c, ifname: l.ifname, peer: peerAddr(peer), port4011: l.port4011}
	if !s.limiter.Allow(mac, now) {
		s.stats.add(typ, OutRateLimited)
		if s.warned.OK(mac, "rate", now) {
			r.d.Reason = "rate-limited"
			s.logger(r).Warn("dhcp: client over its rate limit; dropping its packets",
				"per_second", s.limiter.PerSecond, "burst", s.limiter.Burst)
		}
		return
	}
	if ok, why := s.Filter.Admit(c); !ok {
		s.stats.add(typ, OutDenied)
		if s.Logger.Enabled(context.Background(), slog.LevelDebug) {
			r.d.Reason = "denied"
			s.logger(r).Debug("dhcp: denied", "reason", why)
		}
		return
	}
	if s.Hosts != nil {
		r.h = s.Hosts(c.MAC)
	}
	r.d = Decide(c, r.h, s.Policy)
	res := s.handle(r)
	s.finish(l, r, res, peer, now)
}

// parsePacket parses a datagram into a request and a Client. The request
// is returned with the error when only the Client could not be made.
func parsePacket(b []byte) (*dhcpv4.DHCPv4, Client, error) {
	if len(b) > maxPacket {
		return nil, Client{}, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(b), maxPacket)
	}
	req, err := dhcpv4.FromBytes(b)
	if err != nil {
		return nil, Client{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	c, err := ParseClient(req)
	if err != nil {
		return req, Client{}, err
	}
	return req, c, nil
}

// finish logs and counts the result and sends the reply, after the lease
// store has made its changes durable when there are any.
func (s *Server) finish(l listener, r query, res result, peer net.Addr, now time.Time) {
	typ := msgTypeOf(r.c.Type)
	if res.reply == nil {
		s.stats.add(typ, res.out)
		s.logNoReply(r, res, now)
		if r.c.PXE() {
			s.notify(r, res, netip.Addr{})
		}
		if len(res.ops) > 0 && s.Leases != nil {
			s.Leases.commit(res.ops, func(err error) {
				if err != nil {
					s.Logger.Error("dhcp: cannot persist lease change", "mac", r.c.MAC.String(), "err", err)
				}
			})
		}
		return
	}
	dst := s.destination(r.req, res.reply, peer, l.port4011)
	send := func(err error) {
		if err == nil {
			_, err = l.conn.WriteTo(res.reply.ToBytes(), dst)
		}
		if err != nil {
			s.stats.add(typ, OutError)
			s.logger(r).Error("dhcp: reply not sent", "reply", res.reply.MessageType().String(), "to", dst.String(), "err", err)
			return
		}
		s.stats.add(typ, res.out)
		s.logReply(r, res, dst)
		if r.c.PXE() && r.d.Reason == ReasonNoFile {
			s.warnNoBootFile(r, "it gets an address without boot options", time.Now())
		}
		s.hintPi(r, now)
		s.notify(r, res, addr4(res.reply.YourIPAddr))
	}
	if len(res.ops) > 0 && s.Leases != nil {
		s.Leases.commit(res.ops, send)
		return
	}
	send(nil)
}

// Event is what OnPacket is told about one request.
type Event struct {
	MAC      hw.MAC
	Type     string  // the request's message type, e.g. "DISCOVER"
	Outcome  Outcome // OutOffer, OutAck, OutNak, OutIgnored, OutExhausted, ...
	Arch     hw.Arch
	Decision Decision
	YourIP   netip.Addr // the address handed out, if any
	ClientIP netip.Addr // ciaddr, if the client has one
	PXE      bool       // a network-boot client (PXE firmware, HTTP Boot or iPXE)
	// Bound is the address this reply binds to the MAC, and BoundUntil
	// how long: in full mode an ACK to a REQUEST the lease state machine
	// granted; in proxy mode the port 4011 ACK to firmware asking from its
	// own address (ciaddr is the datagram's source). INFORM, DECLINE,
	// RELEASE and a client's ciaddr alone never bind. Invalid: none.
	Bound      netip.Addr
	BoundUntil time.Time
}

func (s *Server) notify(r query, res result, yiaddr netip.Addr) {
	if s.OnPacket == nil {
		return
	}
	s.OnPacket(Event{MAC: r.c.MAC, Type: r.c.Type.String(), Outcome: res.out, Arch: r.c.Arch,
		Decision: r.d, YourIP: yiaddr, ClientIP: r.c.ClientIP, PXE: r.c.PXE(), Bound: res.bound, BoundUntil: res.until})
}

// logger is the per-packet child logger.
func (s *Server) logger(r query) *slog.Logger {
	log := s.Logger.With("mac", r.c.MAC.String(), "xid", r.c.XID.String(), "type", r.c.Type.String(),
		"arch", r.c.Arch.String(), "mode", s.Mode.String(), "decision", r.d.String())
	if r.c.VendorClass != "" {
		log = log.With("vendor_class", r.c.VendorClass)
	}
	if r.port4011 {
		log = log.With("port", 4011)
	}
	return log
}

func (s *Server) logReply(r query, res result, dst net.Addr) {
	if !s.Logger.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	attrs := []any{"reply", res.reply.MessageType().String(), "to", dst.String()}
	if ip := addr4(res.reply.YourIPAddr); ip.IsValid() {
		attrs = append(attrs, "yiaddr", ip.String())
	}
	if res.subnet != nil {
		attrs = append(attrs, "subnet", res.subnet.Name())
	}
	if res.out == OutNak {
		attrs = append(attrs, "message", res.reply.Message())
	}
	s.logger(r).Info("dhcp: answered", attrs...)
}

// warnNoBootFile warns, once per MAC per warnEvery, that a boot client's
// arch has no boot file, naming the --dhcp-config key that would give it
// one; what says what the client got instead.
func (s *Server) warnNoBootFile(r query, what string, now time.Time) {
	if !s.warned.OK(r.c.MAC, ReasonNoFile, now) {
		return
	}
	s.logger(r).Warn("dhcp: no boot file for this client's arch; "+what,
		"fix", fmt.Sprintf("boot_files: {%s: FILE} in --dhcp-config", r.c.Arch), "user_class", r.c.UserClass)
}

// logNoReply logs an unanswered request: a warning (once per MAC per
// warnEvery) when the client wanted something we could not give, else at
// debug level.
func (s *Server) logNoReply(r query, res result, now time.Time) {
	if r.c.PXE() && r.d.Reason == ReasonNoFile {
		s.warnNoBootFile(r, "no offer", now)
		return
	}
	if res.out == OutExhausted && s.warned.OK(r.c.MAC, res.out.String(), now) {
		s.logger(r).Warn("dhcp: no offer: address pool exhausted", "reason", res.why, "user_class", r.c.UserClass)
		return
	}
	if s.Logger.Enabled(context.Background(), slog.LevelDebug) {
		s.logger(r).Debug("dhcp: no reply", "reason", res.why, "user_class", r.c.UserClass)
	}
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
