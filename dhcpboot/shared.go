package dhcpboot

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/bootwright/bootwright/internal/lease"
)

// Full mode with replicas sharing a lease database: what a server does
// when another one's share of clients asks, when the database is down,
// and when the database refuses a claim because another replica took the
// address first.

// answeredByOwner reports whether c's request is answered only by the
// replica whose share of clients c is in: a DISCOVER, and a broadcast
// REQUEST of a rebooting client (INIT-REBOOT: no server identifier, no
// ciaddr). A REQUEST naming a server is answered by that server, and a
// renewal (ciaddr set) by whichever replica it reaches, so that every
// replica renews every lease.
func answeredByOwner(c Client) bool {
	switch c.Type {
	case dhcpv4.MessageTypeDiscover:
		return true
	case dhcpv4.MessageTypeRequest:
		return !c.ServerID.IsValid() && !c.ClientIP.IsValid()
	}
	return false
}

// minOutageLease is the shortest lease an outage renewal hands out: less
// is not worth the client's trouble, and it NAKs nothing either.
const minOutageLease = 10 * time.Second

// handleDown answers while the lease store cannot be reached: no address
// is offered or granted, but a client renewing a lease this server holds
// a copy of gets an ACK for the time that lease has left in the store,
// never more. So no extension is promised that the store does not hold,
// and no replica that can still reach the database can give the address
// to another client while this one uses it.
func (s *Server) handleDown(r query, n *Subnet, pool *Pool, down error) result {
	c := r.c
	unavailable := result{out: OutUnavailable, why: down.Error(), subnet: n}
	switch c.Type {
	case dhcpv4.MessageTypeRequest:
		self := s.serverAddr(n)
		if c.ServerID.IsValid() && c.ServerID != self && c.ServerID != s.Address {
			return ignore("client selected server " + c.ServerID.String())
		}
		want := c.RequestedIP
		if !want.IsValid() {
			want = c.ClientIP
		}
		l, ok := pool.Bound(c.MAC)
		left := l.Expiry.Sub(pool.now()).Truncate(time.Second)
		if !ok || l.Addr != want || left < minOutageLease {
			return unavailable
		}
		return result{reply: leaseReplyFor(r, self, n, want, dhcpv4.MessageTypeAck, left), out: OutAck, subnet: n,
			bound: want, until: l.Expiry}
	}
	return unavailable
}

// conflict handles a claim the lease store refused: the pool learns who
// holds the address; a DISCOVER is offered another address (at most
// maxConflicts times), a REQUEST gets a NAK and starts again.
func (s *Server) conflict(l listener, r query, res result, peer net.Addr, now time.Time, ce *lease.ConflictError) {
	if res.subnet != nil {
		if i := s.subnetIndex(res.subnet); i >= 0 && i < len(s.pools) && ce.Holder.State.Valid() {
			s.pools[i].Learn(ce.Holder)
			s.pools[i].Collided(ce.Holder.Addr)
		}
	}
	s.stats.conflicts.Add(1)
	s.logger(r).Debug("dhcp: lease store refused a claim", "err", ce)
	switch {
	case r.c.Type == dhcpv4.MessageTypeDiscover && r.attempt < maxConflicts:
		r.attempt++
		// Not on this goroutine: it may be the store's writer, which a
		// new claim must not wait on.
		go s.finish(l, r, s.handle(r), peer, now)
	case r.c.Type == dhcpv4.MessageTypeRequest:
		msg := fmt.Sprintf("%s: %v", ce.Op.Addr, ErrNotYours)
		nak := result{reply: nakReply(r.req, s.serverAddr(res.subnet), msg), out: OutNak, subnet: res.subnet}
		s.finish(l, r, nak, peer, now)
	default:
		s.stats.add(msgTypeOf(r.c.Type), OutExhausted)
	}
}

// maxConflicts bounds how often one DISCOVER is offered another address
// after another replica took the one chosen.
const maxConflicts = 3

// Collided moves the next-fit cursor away from a, an address the lease
// store gave another replica that this pool had not heard of yet. That
// replica is handing out the addresses after a right now, faster than
// this pool learns them; trying them one by one would only collide again
// (and a DISCOVER gets maxConflicts tries). The jump is the golden ratio
// of the range, so that repeated collisions land far from each other.
func (p *Pool) Collided(a netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	size := uint32(p.r.Size())
	if size < 2 || !p.r.Contains(a) {
		return
	}
	off := u32(a) - u32(p.r.Start)
	p.next = (off + uint32(float64(size)*0.618)) % size
}
