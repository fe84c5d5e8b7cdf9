package dhcp6boot

import (
	"net/netip"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// offerHold is how long an advertised address is kept for the client's
// Request.
const offerHold = 30 * time.Second

// proxyBindTime is how long a proxy trusts the address of a PXE boot
// server exchange: the network's server holds the lease, and this server
// does not see when it ends.
const proxyBindTime = time.Hour

// result is what handling one message came to: a reply to send (after
// ops are durable), or why there is none.
type result struct {
	reply *dhcpv6.Message
	out   Outcome
	why   string    // the reason there is no reply, or the status a reply carries
	ops   []leaseOp // lease changes to persist before the reply goes out
	addr  netip.Addr
	// bound and until are the address this reply binds to the client and
	// for how long (see Event.Bound); invalid when it binds none.
	bound netip.Addr
	until time.Time
}

func ignore(why string) result { return result{out: OutIgnored, why: why} }

// handle decides the reply to one admitted message.
func (s *Server) handle(r query) result {
	if why, ok := serverIDCheck(r.c, s.DUID); !ok {
		return ignore(why)
	}
	if r.port4011 {
		return s.handleBootServer(r)
	}
	if s.Mode == dhcpboot.ModeFull {
		return s.handleFull(r)
	}
	return s.handleProxy(r)
}

// serverIDCheck applies RFC 8415 section 16: Solicit, Confirm and Rebind
// name no server; Request, Renew, Release and Decline name this one; an
// Information-request names this one or none.
func serverIDCheck(c Client, self dhcpv6.DUID) (string, bool) {
	ours := c.ServerID != nil && c.ServerID.Equal(self)
	switch c.Type {
	case dhcpv6.MessageTypeSolicit, dhcpv6.MessageTypeConfirm, dhcpv6.MessageTypeRebind:
		if c.ServerID != nil {
			return c.Type.String() + " names a server, which it must not", false
		}
	case dhcpv6.MessageTypeRequest, dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRelease, dhcpv6.MessageTypeDecline:
		if !ours {
			return c.Type.String() + " for another server", false
		}
	case dhcpv6.MessageTypeInformationRequest:
		if c.ServerID != nil && !ours {
			return "INFORMATION-REQUEST for another server", false
		}
	}
	return "", true
}

// handleProxy answers boot clients only, with boot options and no
// addresses: an Advertise to a Solicit, which UEFI firmware takes as a
// proxy offer beside the network's own server's, and a Reply to an
// Information-request (a stateless client such as iPXE on a network
// whose router sets only the O flag).
func (s *Server) handleProxy(r query) result {
	if !r.d.Boot {
		return ignore(r.d.Reason)
	}
	switch r.c.Type {
	case dhcpv6.MessageTypeSolicit:
		reply := s.newReply(r, dhcpv6.MessageTypeAdvertise)
		addBoot(reply, r.c, r.d, true)
		return result{reply: reply, out: OutAdvertise}
	case dhcpv6.MessageTypeInformationRequest:
		reply := s.newReply(r, dhcpv6.MessageTypeReply)
		addBoot(reply, r.c, r.d, true)
		return result{reply: reply, out: OutReply}
	}
	return ignore(r.c.Type.String() + " is for the network's DHCPv6 server")
}

// handleBootServer answers the PXE boot server request UEFI firmware
// sends after it took a proxy offer (EDK2's PxeBcRequestBootService): its
// Request, without IAs, to port 4011 of the server in the offer's boot
// URL, from its own address and port 4011. The Reply carries the boot
// URL again. The firmware asks from the address the network's server
// gave it: as near to a grant as a proxy sees (see Event.Bound).
func (s *Server) handleBootServer(r query) result {
	if s.Mode != dhcpboot.ModeProxy || !r.d.Boot || r.c.Type != dhcpv6.MessageTypeRequest {
		return ignore(r.d.Reason + " on port 4011")
	}
	reply := s.newReply(r, dhcpv6.MessageTypeReply)
	addBoot(reply, r.c, r.d, true)
	res := result{reply: reply, out: OutReply}
	if src := r.c.Source(); !r.c.Relayed() && src.IsGlobalUnicast() && !src.IsLinkLocalUnicast() {
		res.bound, res.until = src, time.Now().Add(proxyBindTime)
	}
	return res
}

// handleFull is the stateful server for one message.
func (s *Server) handleFull(r query) result {
	n := r.n
	if n == nil {
		return ignore("no subnet for this message")
	}
	pool := s.pools[s.subnetIndex(n)]
	switch r.c.Type {
	case dhcpv6.MessageTypeSolicit:
		return s.solicit(r, n, pool)
	case dhcpv6.MessageTypeRequest, dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRebind:
		return s.grant(r, n, pool, r.c.Type)
	case dhcpv6.MessageTypeConfirm:
		return s.confirm(r, n)
	case dhcpv6.MessageTypeRelease:
		return s.release(r, pool, false, n)
	case dhcpv6.MessageTypeDecline:
		return s.release(r, pool, true, n)
	case dhcpv6.MessageTypeInformationRequest:
		// Options only (RFC 8415 18.3.6): no address, binds nothing.
		reply := s.newReply(r, dhcpv6.MessageTypeReply)
		addOptions(reply, r, n)
		return result{reply: reply, out: OutReply}
	}
	return ignore("message type " + r.c.Type.String())
}

// solicit answers a Solicit (RFC 8415 18.3.1) with an Advertise holding
// an address for the client's first IA_NA, or, when it asked for rapid
// commit (option 14), with a Reply that grants it.
func (s *Server) solicit(r query, n *Subnet, pool *Pool) result {
	if len(r.c.IAs) == 0 {
		reply := s.newReply(r, dhcpv6.MessageTypeAdvertise)
		reply.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: "ask for an IA_NA"})
		return result{reply: reply, out: OutNoAddrs, why: "no IA_NA asked for"}
	}
	if r.c.RapidCommit {
		res := s.grant(r, n, pool, dhcpv6.MessageTypeSolicit)
		if res.reply != nil && res.bound.IsValid() {
			res.reply.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionRapidCommit})
		}
		return res
	}
	addr, err := pool.Pick(r.c.MAC, inPrefix(r.c.IAs[0].Addrs, n), s.reservation(r, n), offerHold)
	if err != nil {
		// Only the status (RFC 8415 18.3.1): no IA, no boot options.
		reply := s.newReply(r, dhcpv6.MessageTypeAdvertise)
		reply.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: err.Error()})
		return result{reply: reply, out: OutNoAddrs, why: "range " + n.Range.String() + ": " + err.Error()}
	}
	reply := s.newReply(r, dhcpv6.MessageTypeAdvertise)
	// Preference 255 (RFC 8415 18.2.9): the only server for this link,
	// so the client requests at once instead of collecting Advertises
	// for a second.
	reply.AddOption(dhcpv6.OptPreference(255))
	for i, ia := range r.c.IAs {
		if i == 0 {
			reply.AddOption(iaWith(ia, addr, n.leaseTime()))
		} else {
			reply.AddOption(iaStatus(ia, iana.StatusNoAddrsAvail, "one address per machine"))
		}
	}
	addOptions(reply, r, n)
	return result{reply: reply, out: OutAdvertise, addr: addr}
}

// reservation is the client's reserved IPv6 address when it lies in n.
func (s *Server) reservation(r query, n *Subnet) netip.Addr {
	if ip := r.h.IP; ip.Is6() && n.Prefix.Contains(ip) && ip != s.serverAddr(n) {
		return ip
	}
	return netip.Addr{}
}

// inPrefix returns the addresses of as that lie in n's prefix.
func inPrefix(as []netip.Addr, n *Subnet) []netip.Addr {
	var out []netip.Addr
	for _, a := range as {
		if n.Prefix.Contains(a) {
			out = append(out, a)
		}
	}
	return out
}
