package dhcp6boot

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// grant answers a Request, Renew or Rebind (RFC 8415 18.3.2, 18.3.4,
// 18.3.5), or a Solicit with rapid commit, with a Reply that binds the
// machine's one address to its first IA_NA. bootwright is authoritative
// for its links: it grants an address nobody else holds even when it
// has no record of the client, and moves a client whose address is gone
// to another.
//
// An address the client names outside the link's prefix is not on link:
// a Request's (or rapid Solicit's) IA gets status NotOnLink (RFC 3315
// 18.2.1, as ISC dhcpd answers), while a Renew or Rebind gets that
// address back with lifetimes 0 beside the one granted (RFC 8415
// 18.3.4-5), so the client stops using it at once.
func (s *Server) grant(r query, n *Subnet, pool *Pool, typ dhcpv6.MessageType) result {
	reply := s.newReply(r, dhcpv6.MessageTypeReply)
	res := result{reply: reply, out: OutReply}
	reserved, lt := s.reservation(r, n), n.leaseTime()
	renewing := typ == dhcpv6.MessageTypeRenew || typ == dhcpv6.MessageTypeRebind
	for _, ia := range r.c.IAs {
		off := offLink(ia.Addrs, n)
		if len(off) > 0 {
			res.out, res.why = OutNotOnLink, fmt.Sprintf("%s is not on link %s", off[0], n.Prefix)
			if !renewing {
				reply.AddOption(iaStatus(ia, iana.StatusNotOnLink, res.why))
				continue
			}
		}
		if res.bound.IsValid() {
			reply.AddOption(iaStatus(ia, iana.StatusNoAddrsAvail, "one address per machine"))
			continue
		}
		addr, err := pool.Pick(r.c.MAC, inPrefix(ia.Addrs, n), reserved, offerHold)
		var ops []leaseOp
		if err == nil {
			ops, err = pool.Commit(r.c.MAC, addr, reserved, lt)
		}
		if err != nil {
			reply.AddOption(iaStatus(ia, iana.StatusNoAddrsAvail, err.Error()))
			if res.out == OutReply {
				res.out, res.why = OutNoAddrs, "range "+n.Range.String()+": "+err.Error()
			}
			continue
		}
		res.ops = append(res.ops, ops...)
		reply.AddOption(iaGrant(ia, addr, lt))
		res.addr, res.bound, res.until = addr, addr, time.Now().Add(lt)
	}
	addOptions(reply, r, n)
	return res
}

// confirm answers a Confirm (RFC 8415 18.3.3): Success when every address
// the client names is on this link, NotOnLink when one is not. A Confirm
// naming no address gets no reply.
func (s *Server) confirm(r query, n *Subnet) result {
	var named []netip.Addr
	for _, ia := range r.c.IAs {
		named = append(named, ia.Addrs...)
	}
	if len(named) == 0 {
		return ignore("CONFIRM names no address")
	}
	reply := s.newReply(r, dhcpv6.MessageTypeReply)
	if off := offLink(named, n); len(off) > 0 {
		why := fmt.Sprintf("%s is not on link %s", off[0], n.Prefix)
		reply.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNotOnLink, StatusMessage: why})
		return result{reply: reply, out: OutNotOnLink, why: why}
	}
	reply.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusSuccess, StatusMessage: "all addresses on link"})
	return result{reply: reply, out: OutReply}
}

// release answers a Release (RFC 8415 18.3.7) or, with decline, a
// Decline (18.3.8): each address the client holds is freed, or set aside
// for a lease time, and the Reply says Success.
func (s *Server) release(r query, pool *Pool, decline bool, n *Subnet) result {
	res := result{out: OutReply, why: "released"}
	for _, ia := range r.c.IAs {
		for _, a := range ia.Addrs {
			if decline {
				res.ops = append(res.ops, pool.Decline(r.c.MAC, a, n.leaseTime())...)
			} else {
				res.ops = append(res.ops, pool.Release(r.c.MAC, a)...)
			}
		}
	}
	msg := "release received"
	if decline {
		res.why, msg = "declined", "decline received"
	}
	res.reply = s.newReply(r, dhcpv6.MessageTypeReply)
	res.reply.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusSuccess, StatusMessage: msg})
	return res
}

// offLink returns the addresses of as outside n's prefix.
func offLink(as []netip.Addr, n *Subnet) []netip.Addr {
	var out []netip.Addr
	for _, a := range as {
		if !n.Prefix.Contains(a) {
			out = append(out, a)
		}
	}
	return out
}
