package dhcp6boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/hw"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// query is one parsed message with what was decided about it.
type query struct {
	req      *dhcpv6.Message
	c        Client
	h        dhcpboot.Host
	d        dhcpboot.Decision
	n        *Subnet // the client's subnet (full mode), nil when none
	ifname   string  // the receiving interface, when known
	port4011 bool
}

// servePacket handles one datagram: parse once, admit, decide, reply.
// Every datagram is counted once by type and outcome. A panic while
// handling one is recovered, logged and counted, and the server goes on.
func (s *Server) servePacket(l listener, b []byte, peer net.Addr) {
	typ := MsgUnknown
	defer func() {
		if r := recover(); r != nil {
			s.stats.add(typ, OutError)
			s.Logger.Error("dhcp6: panic handling packet", "peer", peer, "panic", fmt.Sprint(r))
		}
	}()
	src := peerAddr(peer)
	req, c, err := Parse(b, src, s.Neighbor)
	typ = msgTypeOf(c.Type)
	if err != nil {
		out := OutMalformed
		if errors.Is(err, ErrNoMAC) {
			out = OutNoMAC
		}
		s.stats.add(typ, out)
		s.Logger.Debug("dhcp6: dropped", "peer", peer, "bytes", len(b), "err", err)
		return
	}
	if s.own[src] {
		s.stats.add(typ, OutOwn)
		s.Logger.Debug("dhcp6: ignored a message from our own address", "peer", peer, "mac", c.MAC.String())
		return
	}
	now := time.Now()
	r := query{req: req, c: c, ifname: l.ifname, port4011: l.port4011}
	if !s.limiter.Allow(c.MAC, now) {
		s.stats.add(typ, OutRateLimited)
		if s.warned.OK(c.MAC, "rate", now) {
			r.d.Reason = "rate-limited"
			s.logger(r).Warn("dhcp6: client over its rate limit; dropping its messages",
				"per_second", s.limiter.PerSecond, "burst", s.limiter.Burst)
		}
		return
	}
	if ok, why := s.Filter.Admit(c.dhcpv4()); !ok {
		s.stats.add(typ, OutDenied)
		if s.Logger.Enabled(context.Background(), slog.LevelDebug) {
			r.d.Reason = "denied"
			s.logger(r).Debug("dhcp6: denied", "reason", why)
		}
		return
	}
	if s.Hosts != nil {
		r.h = s.Hosts(c.MAC)
	}
	if s.Mode == dhcpboot.ModeFull {
		r.n = s.selectSubnet(c, l.ifname)
	}
	r.d = Decide(c, r.h, s.Policy, s.serverAddr(r.n))
	s.finish(l, r, s.handle(r), peer)
}

// finish counts and logs the result and sends the reply (wrapped in
// Relay-Repl envelopes when the request was relayed), after the lease
// store has made its changes durable when there are any.
func (s *Server) finish(l listener, r query, res result, peer net.Addr) {
	typ := msgTypeOf(r.c.Type)
	if res.reply == nil {
		s.stats.add(typ, res.out)
		s.logNoReply(r, res)
		if r.c.PXE() {
			s.notify(r, res)
		}
		if len(res.ops) > 0 && s.Leases != nil {
			s.Leases.commit(res.ops, func(err error) {
				if err != nil {
					s.Logger.Error("dhcp6: cannot persist lease change", "mac", r.c.MAC.String(), "err", err)
				}
			})
		}
		return
	}
	send := func(err error) {
		if err == nil {
			var out []byte
			if out, err = s.wire(r, res.reply); err == nil {
				_, err = l.conn.WriteTo(out, peer)
			}
		}
		if err != nil {
			s.stats.add(typ, OutError)
			s.logger(r).Error("dhcp6: reply not sent", "reply", res.reply.MessageType.String(), "to", peer.String(), "err", err)
			return
		}
		s.stats.add(typ, res.out)
		s.logReply(r, res, peer)
		if r.c.PXE() && r.d.Reason == dhcpboot.ReasonNoFile {
			s.warnNoBootFile(r, "it gets no boot options")
		}
		s.notify(r, res)
	}
	if len(res.ops) > 0 && s.Leases != nil {
		s.Leases.commit(res.ops, send)
		return
	}
	send(nil)
}

// wire is the reply as sent: in the relay envelopes the request came in
// (RFC 8415 section 19.3), each with its interface-id echoed.
func (s *Server) wire(r query, reply *dhcpv6.Message) ([]byte, error) {
	if !r.c.Relayed() {
		return reply.ToBytes(), nil
	}
	m, err := dhcpv6.NewRelayReplFromRelayForw(r.c.Relays[0].msg, reply)
	if err != nil {
		return nil, fmt.Errorf("relay reply: %w", err)
	}
	return m.ToBytes(), nil
}

// Event is what OnPacket is told about one message.
type Event struct {
	MAC      hw.MAC
	Type     string  // the message type, e.g. "SOLICIT"
	Outcome  Outcome // OutAdvertise, OutReply, OutNotOnLink, OutIgnored, ...
	Arch     hw.Arch
	Decision dhcpboot.Decision
	Addr     netip.Addr // the address offered or granted, if any
	Source   netip.Addr // the client's own (usually link-local) address
	PXE      bool       // a network-boot client
	Relayed  bool
	// Bound is the address this reply binds to the MAC, and BoundUntil
	// how long: in full mode a Reply granting it (Request, Renew, Rebind,
	// a rapidly committed Solicit); in proxy mode the PXE boot server
	// Reply to firmware asking from its own global address. Confirm,
	// Information-request and a client's say-so never bind. Invalid: none.
	Bound      netip.Addr
	BoundUntil time.Time
}

func (s *Server) notify(r query, res result) {
	if s.OnPacket == nil {
		return
	}
	s.OnPacket(Event{MAC: r.c.MAC, Type: r.c.Type.String(), Outcome: res.out, Arch: r.c.Arch, Decision: r.d,
		Addr: res.addr, Source: r.c.Source(), PXE: r.c.PXE(), Relayed: r.c.Relayed(), Bound: res.bound, BoundUntil: res.until})
}

// logger is the per-message child logger.
func (s *Server) logger(r query) *slog.Logger {
	log := s.Logger.With("mac", r.c.MAC.String(), "mac_from", r.c.MACSource, "xid", r.c.XID.String(),
		"type", r.c.Type.String(), "arch", r.c.Arch.String(), "mode", s.Mode.String(), "decision", r.d.String())
	if r.c.VendorClass != "" {
		log = log.With("vendor_class", r.c.VendorClass)
	}
	if r.c.Relayed() {
		log = log.With("relay_link", r.c.Link().String(), "hops", len(r.c.Relays))
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
	attrs := []any{"reply", res.reply.MessageType.String(), "to", dst.String(), "outcome", res.out.String()}
	if res.addr.IsValid() {
		attrs = append(attrs, "addr", res.addr.String())
	}
	if r.n != nil {
		attrs = append(attrs, "subnet", r.n.Name())
	}
	if res.why != "" {
		attrs = append(attrs, "status", res.why)
	}
	s.logger(r).Info("dhcp6: answered", attrs...)
}

// warnNoBootFile warns, once per MAC per warnEvery, that a boot client's
// arch has no boot file, naming the --dhcp-config key that would give it
// one.
func (s *Server) warnNoBootFile(r query, what string) {
	if !s.warned.OK(r.c.MAC, dhcpboot.ReasonNoFile, time.Now()) {
		return
	}
	s.logger(r).Warn("dhcp6: no boot file for this client's arch; "+what,
		"fix", fmt.Sprintf("boot_files: {%s: FILE} in --dhcp-config", r.c.Arch), "user_class", r.c.UserClass)
}

// logNoReply logs an unanswered message: a warning (once per MAC per
// warnEvery) when a boot client wanted something we could not give, else
// at debug level.
func (s *Server) logNoReply(r query, res result) {
	if r.c.PXE() && r.d.Reason == dhcpboot.ReasonNoFile {
		s.warnNoBootFile(r, "no answer")
		return
	}
	if s.Logger.Enabled(context.Background(), slog.LevelDebug) {
		s.logger(r).Debug("dhcp6: no reply", "reason", res.why, "user_class", r.c.UserClass)
	}
}
