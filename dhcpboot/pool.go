package dhcpboot

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/lease"
)

// Errors returned by Pool.
var (
	ErrPoolExhausted = errors.New("address pool exhausted")
	ErrNotYours      = errors.New("address is leased to another client")
	ErrReserved      = errors.New("address is reserved for another machine")
	ErrOutOfRange    = errors.New("address outside the pool")
)

// Pool hands out the addresses of one subnet and tracks who holds them.
// Every change it makes is returned as lease.Ops for the lease store,
// which has the last word: with one server the pool knows every lease,
// with replicas sharing a database it is a copy kept fresh by Learn. The
// invariant it keeps: an address is held by at most one MAC (byAddr), and
// a MAC holds at most one address (byMAC). It is safe for concurrent use;
// create it with NewPool.
type Pool struct {
	// ReservedBy, if set, names the machine an address is reserved for;
	// such an address is given to no other MAC. Set it before use.
	ReservedBy func(netip.Addr) (hw.MAC, bool)

	r      Range
	now    func() time.Time
	mu     sync.Mutex
	byMAC  map[hw.MAC]*lease.Lease
	byAddr map[netip.Addr]*lease.Lease
	next   uint32 // next-fit cursor: offset into r of the next address to try
}

// NewPool returns an empty pool over r.
func NewPool(r Range) *Pool {
	return &Pool{r: r, now: time.Now, byMAC: map[hw.MAC]*lease.Lease{}, byAddr: map[netip.Addr]*lease.Lease{}}
}

// Range returns the pool's address range.
func (p *Pool) Range() Range { return p.r }

// StartAt moves the next-fit cursor to the fraction f (0 to 1) of the
// range, so that replicas sharing a range start handing out addresses in
// different places.
func (p *Pool) StartAt(f float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if size := p.r.Size(); size > 0 && f > 0 && f < 1 {
		p.next = uint32(f * float64(size))
	}
}

// freeFor reports whether a can be given to mac: it is not reserved for
// another machine, and nobody holds it, mac does, or the holder's time
// ran out.
func (p *Pool) freeFor(a netip.Addr, mac hw.MAC, now time.Time) bool {
	if p.reservedForOther(a, mac) {
		return false
	}
	l, ok := p.byAddr[a]
	return !ok || (l.MAC == mac && l.State != lease.Declined) || !l.Live(now)
}

// reservedForOther reports whether a is reserved for a MAC other than mac.
func (p *Pool) reservedForOther(a netip.Addr, mac hw.MAC) bool {
	if p.ReservedBy == nil {
		return false
	}
	m, ok := p.ReservedBy(a)
	return ok && m != mac
}

// Offer picks an address for mac and holds it for hold: its reservation
// when that is free, else its current address, else the one it asked for
// if free, else the next free one after the last handed out (so that an
// address released or expired is reused as late as possible, which keeps
// returning clients on their old address). An address reserved for
// another machine is never offered, even inside the range. It returns the
// op that holds the address in the lease store (none when mac's own lease
// stands).
//
// When no address is free but some are only offered, the one offered
// longest ago is offered again, to mac: a flood of DISCOVERs from made-up
// MACs, which never REQUEST, would otherwise hold the whole range and
// starve real clients for as long as it lasts. RFC 2131 section 4.3.1
// lets a server re-use an offered address; a client whose offer is taken
// over gets a NAK for its REQUEST and starts again. Bound and declined
// addresses are never taken.
func (p *Pool) Offer(mac hw.MAC, requested, reserved netip.Addr, hold time.Duration) (netip.Addr, []lease.Op, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	exp := now.Add(hold)
	if reserved.IsValid() && p.freeFor(reserved, mac, now) {
		return p.holdLocked(mac, reserved, exp, false)
	}
	// Here a reservation, if any, is held by another live client.
	if l, ok := p.byMAC[mac]; ok && p.r.Contains(l.Addr) && !p.reservedForOther(l.Addr, mac) {
		return p.holdLocked(mac, l.Addr, exp, false)
	}
	if p.r.Contains(requested) && p.freeFor(requested, mac, now) {
		return p.holdLocked(mac, requested, exp, false)
	}
	size := uint32(p.r.Size())
	start := u32(p.r.Start)
	var oldest *lease.Lease // the offer that expires first
	for i := uint32(0); i < size; i++ {
		off := (p.next + i) % size
		a := addrFrom32(start + off)
		if p.freeFor(a, mac, now) {
			p.next = (off + 1) % size
			return p.holdLocked(mac, a, exp, false)
		}
		if l := p.byAddr[a]; l != nil && l.State == lease.Offered && !p.reservedForOther(a, mac) &&
			(oldest == nil || l.Expiry.Before(oldest.Expiry)) {
			oldest = l
		}
	}
	if oldest != nil {
		return p.holdLocked(mac, oldest.Addr, exp, true)
	}
	return netip.Addr{}, nil, ErrPoolExhausted
}

// holdLocked marks addr offered to mac until at least expiry; a bound
// lease keeps its state and its longer expiry, and needs no op.
func (p *Pool) holdLocked(mac hw.MAC, addr netip.Addr, expiry time.Time, takeover bool) (netip.Addr, []lease.Op, error) {
	if l, ok := p.byAddr[addr]; ok && l.MAC == mac && l.State == lease.Bound && l.Live(p.now()) {
		if l.Expiry.Before(expiry) {
			l.Expiry = expiry
		}
		p.byMAC[mac] = l
		return addr, nil, nil
	}
	p.bindLocked(&lease.Lease{MAC: mac, Addr: addr, Expiry: expiry, State: lease.Offered})
	return addr, []lease.Op{{Kind: lease.Offer, Addr: addr, MAC: mac, Expiry: expiry, Takeover: takeover}}, nil
}

// Commit binds addr to mac for d (a DHCPREQUEST being ACKed) and returns
// the changes to persist before the ACK goes out. addr must be in the
// range or be mac's reservation. An address reserved for another machine
// is refused with ErrReserved, and mac's own lease on it, if any, is
// dropped: the changes returned with that error are to be persisted too.
func (p *Pool) Commit(mac hw.MAC, addr, reserved netip.Addr, d time.Duration) ([]lease.Op, error) {
	if !p.r.Contains(addr) && addr != reserved {
		return nil, fmt.Errorf("%s: %w", addr, ErrOutOfRange)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.reservedForOther(addr, mac) {
		// The client gets a NAK and must stop using addr (RFC 2131
		// 4.3.2), so a lease it holds there (from before the reservation)
		// ends now and the machine it is reserved for can have it.
		var ops []lease.Op
		if l, ok := p.byAddr[addr]; ok && l.MAC == mac {
			ops = p.dropLocked(l)
		}
		return ops, fmt.Errorf("%s: %w", addr, ErrReserved)
	}
	if !p.freeFor(addr, mac, now) {
		return nil, fmt.Errorf("%s: %w", addr, ErrNotYours)
	}
	var ops []lease.Op
	if old, ok := p.byMAC[mac]; ok && old.Addr != addr && old.State == lease.Bound {
		ops = append(ops, lease.Op{Kind: lease.Release, Addr: old.Addr, MAC: mac})
	}
	l := &lease.Lease{MAC: mac, Addr: addr, Expiry: now.Add(d), State: lease.Bound}
	p.bindLocked(l)
	return append(ops, lease.Op{Kind: lease.Bind, Addr: addr, MAC: mac, Expiry: l.Expiry}), nil
}

// bindLocked records l, dropping any other binding its MAC or address had.
func (p *Pool) bindLocked(l *lease.Lease) {
	if old, ok := p.byMAC[l.MAC]; ok && old.Addr != l.Addr {
		delete(p.byAddr, old.Addr)
	}
	if old, ok := p.byAddr[l.Addr]; ok && old.MAC != l.MAC && p.byMAC[old.MAC] == old {
		delete(p.byMAC, old.MAC)
	}
	p.byMAC[l.MAC] = l
	p.byAddr[l.Addr] = l
}

// Cancel drops an offer made to mac that it did not take (it requested
// another server's). Bound leases are kept.
func (p *Pool) Cancel(mac hw.MAC) []lease.Op {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.byMAC[mac]
	if !ok || l.State != lease.Offered {
		return nil
	}
	delete(p.byMAC, mac)
	delete(p.byAddr, l.Addr)
	return []lease.Op{{Kind: lease.Cancel, Addr: l.Addr, MAC: mac}}
}

// Release forgets mac's lease on addr (DHCPRELEASE). A release for an
// address the client does not hold is ignored.
func (p *Pool) Release(mac hw.MAC, addr netip.Addr) []lease.Op {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.byMAC[mac]
	if !ok || l.Addr != addr {
		return nil
	}
	return p.dropLocked(l)
}

// dropLocked forgets lease l and returns the op that ends it in the
// store.
func (p *Pool) dropLocked(l *lease.Lease) []lease.Op {
	delete(p.byAddr, l.Addr)
	if p.byMAC[l.MAC] == l {
		delete(p.byMAC, l.MAC)
	}
	return []lease.Op{{Kind: lease.Release, Addr: l.Addr, MAC: l.MAC}}
}

// Decline marks addr unusable for d after mac found it in use
// (DHCPDECLINE, RFC 2131 4.3.3), so it is not offered again soon. Only
// the client the address was given to can decline it.
func (p *Pool) Decline(mac hw.MAC, addr netip.Addr, d time.Duration) []lease.Op {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.byAddr[addr]
	if !ok || l.MAC != mac || l.State == lease.Declined {
		return nil
	}
	delete(p.byMAC, mac)
	dl := &lease.Lease{MAC: mac, Addr: addr, Expiry: p.now().Add(d), State: lease.Declined}
	p.byAddr[addr] = dl
	return []lease.Op{{Kind: lease.Decline, Addr: addr, MAC: mac, Expiry: dl.Expiry}}
}

// available reports whether a could be given to mac now.
func (p *Pool) available(a netip.Addr, mac hw.MAC) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.freeFor(a, mac, p.now())
}

// Lookup returns mac's current, unexpired, bound address.
func (p *Pool) Lookup(mac hw.MAC) (netip.Addr, bool) {
	l, ok := p.Bound(mac)
	return l.Addr, ok
}

// Bound returns mac's current, unexpired, bound lease.
func (p *Pool) Bound(mac hw.MAC) (lease.Lease, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.byMAC[mac]
	if !ok || l.State != lease.Bound || !l.Live(p.now()) {
		return lease.Lease{}, false
	}
	return *l, true
}

// Holder returns the MAC holding addr (bound or offered, unexpired).
func (p *Pool) Holder(addr netip.Addr) (hw.MAC, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.byAddr[addr]
	if !ok || !l.Live(p.now()) || l.State == lease.Declined {
		return hw.MAC{}, false
	}
	return l.MAC, true
}

// Learn takes a lease from the store as it stands there (loaded at start,
// written by another replica, or the holder named by a refused claim):
// it replaces what the pool believed about its address. When a MAC has
// several (it moved between addresses and a deletion was lost), the
// latest wins its byMAC slot; the others still hold their addresses until
// they expire.
func (p *Pool) Learn(l lease.Lease) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.byAddr[l.Addr]; ok && p.byMAC[old.MAC] == old && old.MAC != l.MAC {
		delete(p.byMAC, old.MAC)
	}
	nl := &l
	p.byAddr[l.Addr] = nl
	if l.State == lease.Declined || !l.Live(p.now()) {
		if cur, ok := p.byMAC[l.MAC]; ok && cur.Addr == l.Addr {
			delete(p.byMAC, l.MAC)
		}
		return
	}
	if cur, ok := p.byMAC[l.MAC]; !ok || cur.Addr == l.Addr || cur.Expiry.Before(l.Expiry) ||
		cur.State == lease.Offered && l.State == lease.Bound {
		p.byMAC[l.MAC] = nl
	}
}
