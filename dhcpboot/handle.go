package dhcpboot

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Mode is how the server takes part in DHCP on its network.
type Mode int

// The DHCP modes.
const (
	// ModeProxy answers PXE clients only, beside the network's own DHCP
	// server, and never hands out an address (PXE 2.1 proxyDHCP).
	ModeProxy Mode = iota
	// ModeFull is a DHCP server: it leases addresses and adds boot options
	// for PXE clients.
	ModeFull
)

// String returns "proxy" or "full".
func (m Mode) String() string {
	if m == ModeFull {
		return "full"
	}
	return "proxy"
}

// ParseMode parses "proxy" or "full".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "proxy":
		return ModeProxy, nil
	case "full":
		return ModeFull, nil
	}
	return 0, fmt.Errorf("unknown dhcp mode %q (want proxy, full or off)", s)
}

// offerHold is how long an offered address is kept for the client's REQUEST.
const offerHold = 30 * time.Second

// proxyBindTime is how long a proxy trusts the address of a port 4011
// exchange: the LAN's server holds the lease, and this server does not
// see when it ends.
const proxyBindTime = time.Hour

// result is what handling one request came to: a reply to send (after
// ops are durable), or why there is none.
type result struct {
	reply  *dhcpv4.DHCPv4
	out    Outcome
	why    string    // reason, when there is no reply
	ops    []leaseOp // lease changes to persist before the reply goes out
	subnet *Subnet
	// bound and until are the address this reply binds to the client and
	// for how long (see Event.Bound); invalid when it binds none.
	bound netip.Addr
	until time.Time
}

func ignore(why string) result { return result{out: OutIgnored, why: why} }

// query is one parsed request with what was decided about it.
type query struct {
	req      *dhcpv4.DHCPv4
	c        Client
	h        Host
	d        Decision
	ifname   string     // the receiving interface, when known
	peer     netip.Addr // the datagram's source address
	port4011 bool
}

// handle decides the reply to one admitted request.
func (s *Server) handle(r query) result {
	c, d := r.c, r.d
	if r.port4011 {
		// PXE 2.1 section 2.2.6: the boot server answers a REQUEST (or
		// INFORM) on port 4011 with an ACK carrying the boot file.
		if (c.Type != dhcpv4.MessageTypeRequest && c.Type != dhcpv4.MessageTypeInform) || !d.Boot {
			return ignore(d.Reason + " on port 4011")
		}
		res := result{reply: proxyReply(r.req, c, d, s.Address, dhcpv4.MessageTypeAck), out: OutAck}
		// The firmware asks from the address the LAN's server gave it:
		// as near to a grant as a proxy sees (see Event.Bound).
		if c.ClientIP.IsValid() && c.ClientIP == r.peer && !c.Relay.IsValid() {
			res.bound, res.until = c.ClientIP, time.Now().Add(proxyBindTime)
		}
		return res
	}
	if s.Mode == ModeFull {
		// As the network's DHCP server, full mode gives every client its
		// address; a boot client of an arch with no boot file gets no
		// boot options, and its firmware moves on to its next device.
		return s.handleFull(r)
	}
	if !d.Boot {
		return ignore(d.Reason)
	}
	switch {
	case c.Type == dhcpv4.MessageTypeDiscover:
		return result{reply: proxyReply(r.req, c, d, s.Address, dhcpv4.MessageTypeOffer), out: OutOffer}
	case c.Type == dhcpv4.MessageTypeRequest && c.ServerID == s.Address:
		// Some ROMs send the boot request to port 67 of the proxy they
		// selected; answer it like port 4011.
		return result{reply: proxyReply(r.req, c, d, s.Address, dhcpv4.MessageTypeAck), out: OutAck}
	}
	return ignore(c.Type.String() + " not for a proxy")
}

// handleFull runs the RFC 2131 server side for one request.
func (s *Server) handleFull(r query) result {
	c := r.c
	n := s.selectSubnet(c, r.ifname)
	if n == nil {
		return ignore("no subnet for this request")
	}
	pool := s.pools[s.subnetIndex(n)]
	reserved := s.reservation(r, n)
	self := s.serverAddr(n)
	res := result{subnet: n}
	switch c.Type {
	case dhcpv4.MessageTypeDiscover:
		addr, err := pool.Offer(c.MAC, c.RequestedIP, reserved, offerHold)
		if err != nil {
			return result{out: OutExhausted, why: fmt.Sprintf("subnet %s range %s: %v", n.Name(), n.Range, err), subnet: n}
		}
		res.reply, res.out = leaseReply(r, self, n, addr, dhcpv4.MessageTypeOffer), OutOffer
	case dhcpv4.MessageTypeRequest:
		return s.handleRequest(r, n, pool, reserved)
	case dhcpv4.MessageTypeRelease:
		// RFC 2131 4.4.6: the client unicasts RELEASE from the address
		// it gives up; one from elsewhere is someone else's word for it.
		if c.ClientIP != r.peer {
			return ignore("RELEASE of " + c.ClientIP.String() + " sent from " + r.peer.String())
		}
		res.out, res.why = OutIgnored, "released "+c.ClientIP.String()
		res.ops = pool.Release(c.MAC, c.ClientIP)
	case dhcpv4.MessageTypeDecline:
		res.out, res.why = OutIgnored, "declined "+c.RequestedIP.String()
		res.ops = pool.Decline(c.MAC, c.RequestedIP, n.leaseTime())
	case dhcpv4.MessageTypeInform:
		// RFC 2131 3.4: options only, no address, no lease time; never
		// to an address leased to another machine, and it binds nothing.
		if holder, ok := pool.Holder(c.ClientIP); !c.ClientIP.IsValid() || ok && holder != c.MAC {
			return ignore("INFORM from " + c.ClientIP.String() + ", leased to another machine or none")
		}
		res.reply, res.out = leaseReply(r, self, n, netip.Addr{}, dhcpv4.MessageTypeAck), OutAck
	default:
		return ignore("message type " + c.Type.String())
	}
	return res
}

// handleRequest answers a DHCPREQUEST (RFC 2131 4.3.2) in any of the
// client states: SELECTING (option 54 names the server it chose),
// INIT-REBOOT (option 50 only), RENEWING and REBINDING (ciaddr only).
// bootwright is authoritative for its subnets: it confirms an address
// nobody holds even when it has no record of the client.
func (s *Server) handleRequest(r query, n *Subnet, pool *Pool, reserved netip.Addr) result {
	c := r.c
	self := s.serverAddr(n)
	if c.ServerID.IsValid() && c.ServerID != self && c.ServerID != s.Address {
		pool.Cancel(c.MAC)
		return ignore("client selected server " + c.ServerID.String())
	}
	want := c.RequestedIP
	if !want.IsValid() {
		want = c.ClientIP
	}
	if !want.IsValid() {
		return ignore("request names no address")
	}
	nak := func(msg string) result {
		return result{reply: nakReply(r.req, self, msg), out: OutNak, subnet: n}
	}
	if !n.Prefix.Contains(want) {
		return nak(fmt.Sprintf("%s is not on this network (%s)", want, n.Prefix))
	}
	if reserved.IsValid() && want != reserved && pool.available(reserved, c.MAC) {
		return nak(fmt.Sprintf("%s is reserved %s", c.MAC, reserved))
	}
	ops, err := pool.Commit(c.MAC, want, reserved, n.leaseTime())
	if err != nil {
		res := nak(err.Error())
		res.ops = ops
		return res
	}
	return result{reply: leaseReply(r, self, n, want, dhcpv4.MessageTypeAck), out: OutAck, ops: ops, subnet: n,
		bound: want, until: time.Now().Add(n.leaseTime())}
}

// reservation is the client's reserved address when it lies in subnet n.
func (s *Server) reservation(r query, n *Subnet) netip.Addr {
	ip := r.h.IP
	if !ip.IsValid() {
		return netip.Addr{}
	}
	if !n.Prefix.Contains(ip) || ip == s.serverAddr(n) {
		if s.warned.OK(r.c.MAC, "reservation", time.Now()) {
			s.Logger.Warn("dhcp: reserved address is not on the client's subnet; leasing from the range",
				"mac", r.c.MAC.String(), "reserved", ip.String(), "subnet", n.Name())
		}
		return netip.Addr{}
	}
	return ip
}
