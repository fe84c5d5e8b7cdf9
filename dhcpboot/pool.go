package dhcpboot

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// Errors returned by Pool.
var (
	ErrPoolExhausted = errors.New("address pool exhausted")
	ErrNotYours      = errors.New("address is leased to another client")
	ErrReserved      = errors.New("address is reserved for another machine")
	ErrOutOfRange    = errors.New("address outside the pool")
)

type leaseState uint8

const (
	stateOffered  leaseState = iota + 1 // held for a client's REQUEST; never persisted
	stateBound                          // ACKed; persisted before the ACK is sent
	stateDeclined                       // a client found it in use (DHCPDECLINE)
)

type lease struct {
	mac    hw.MAC
	addr   netip.Addr
	expiry time.Time
	state  leaseState
}

// leaseOp is one change to the persisted lease table: the record for
// addr is replaced (put) or removed.
type leaseOp struct {
	addr   netip.Addr
	del    bool
	mac    hw.MAC
	expiry time.Time
	state  leaseState
}

// Pool hands out the addresses of one subnet and tracks who holds them.
// It is the in-memory truth; every change that must survive a restart is
// returned as leaseOps for the lease store. The invariant it keeps: an
// address is held by at most one MAC (byAddr), and a MAC holds at most one
// address (byMAC). It is safe for concurrent use; create it with NewPool.
type Pool struct {
	// ReservedBy, if set, names the machine an address is reserved for;
	// such an address is given to no other MAC. Set it before use.
	ReservedBy func(netip.Addr) (hw.MAC, bool)

	r      Range
	now    func() time.Time
	mu     sync.Mutex
	byMAC  map[hw.MAC]*lease
	byAddr map[netip.Addr]*lease
	next   uint32 // next-fit cursor: offset into r of the next address to try
}

// NewPool returns an empty pool over r.
func NewPool(r Range) *Pool {
	return &Pool{r: r, now: time.Now, byMAC: map[hw.MAC]*lease{}, byAddr: map[netip.Addr]*lease{}}
}

// Range returns the pool's address range.
func (p *Pool) Range() Range { return p.r }

// freeFor reports whether a can be given to mac: it is not reserved for
// another machine, and nobody holds it, mac does, or the holder's time
// ran out.
func (p *Pool) freeFor(a netip.Addr, mac hw.MAC, now time.Time) bool {
	if p.reservedForOther(a, mac) {
		return false
	}
	l, ok := p.byAddr[a]
	return !ok || (l.mac == mac && l.state != stateDeclined) || !l.expiry.After(now)
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
// another machine is never offered, even inside the range.
//
// When no address is free but some are only offered, the one offered
// longest ago is offered again, to mac: a flood of DISCOVERs from made-up
// MACs, which never REQUEST, would otherwise hold the whole range and
// starve real clients for as long as it lasts. RFC 2131 section 4.3.1
// lets a server re-use an offered address; a client whose offer is taken
// over gets a NAK for its REQUEST and starts again. Bound and declined
// addresses are never taken.
func (p *Pool) Offer(mac hw.MAC, requested, reserved netip.Addr, hold time.Duration) (netip.Addr, error) {
	k := mac
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if reserved.IsValid() && p.freeFor(reserved, k, now) {
		return p.holdLocked(k, reserved, now.Add(hold)), nil
	}
	// Here a reservation, if any, is held by another live client.
	if l, ok := p.byMAC[k]; ok && p.r.Contains(l.addr) && !p.reservedForOther(l.addr, k) {
		return p.holdLocked(k, l.addr, now.Add(hold)), nil
	}
	if p.r.Contains(requested) && p.freeFor(requested, k, now) {
		return p.holdLocked(k, requested, now.Add(hold)), nil
	}
	size := uint32(p.r.Size())
	start := u32(p.r.Start)
	var oldest *lease // the offer that expires first
	for i := uint32(0); i < size; i++ {
		off := (p.next + i) % size
		a := addrFrom32(start + off)
		if p.freeFor(a, k, now) {
			p.next = (off + 1) % size
			return p.holdLocked(k, a, now.Add(hold)), nil
		}
		if l := p.byAddr[a]; l != nil && l.state == stateOffered && !p.reservedForOther(a, k) &&
			(oldest == nil || l.expiry.Before(oldest.expiry)) {
			oldest = l
		}
	}
	if oldest != nil {
		return p.holdLocked(k, oldest.addr, now.Add(hold)), nil
	}
	return netip.Addr{}, ErrPoolExhausted
}

// holdLocked marks addr offered to mac until at least expiry; a bound
// lease keeps its state and its longer expiry.
func (p *Pool) holdLocked(mac hw.MAC, addr netip.Addr, expiry time.Time) netip.Addr {
	if l, ok := p.byAddr[addr]; ok && l.mac == mac && l.state == stateBound {
		if l.expiry.Before(expiry) {
			l.expiry = expiry
		}
		p.byMAC[mac] = l
		return addr
	}
	p.bindLocked(&lease{mac: mac, addr: addr, expiry: expiry, state: stateOffered})
	return addr
}

// Commit binds addr to mac for d (a DHCPREQUEST being ACKed) and returns
// the changes to persist before the ACK goes out. addr must be in the
// range or be mac's reservation. An address reserved for another machine
// is refused with ErrReserved, and mac's own lease on it, if any, is
// dropped: the changes returned with that error are to be persisted too.
func (p *Pool) Commit(mac hw.MAC, addr, reserved netip.Addr, d time.Duration) ([]leaseOp, error) {
	if !p.r.Contains(addr) && addr != reserved {
		return nil, fmt.Errorf("%s: %w", addr, ErrOutOfRange)
	}
	k := mac
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.reservedForOther(addr, k) {
		// The client gets a NAK and must stop using addr (RFC 2131
		// 4.3.2), so a lease it holds there (from before the reservation)
		// ends now and the machine it is reserved for can have it.
		var ops []leaseOp
		if l, ok := p.byAddr[addr]; ok && l.mac == k {
			ops = p.dropLocked(l)
		}
		return ops, fmt.Errorf("%s: %w", addr, ErrReserved)
	}
	if !p.freeFor(addr, k, now) {
		return nil, fmt.Errorf("%s: %w", addr, ErrNotYours)
	}
	var ops []leaseOp
	if old, ok := p.byMAC[k]; ok && old.addr != addr && old.state == stateBound {
		ops = append(ops, leaseOp{addr: old.addr, del: true})
	}
	l := &lease{mac: k, addr: addr, expiry: now.Add(d), state: stateBound}
	p.bindLocked(l)
	return append(ops, l.op()), nil
}

func (l *lease) op() leaseOp {
	return leaseOp{addr: l.addr, mac: l.mac, expiry: l.expiry, state: l.state}
}

// bindLocked records l, dropping any other binding its MAC or address had.
func (p *Pool) bindLocked(l *lease) {
	if old, ok := p.byMAC[l.mac]; ok && old.addr != l.addr {
		delete(p.byAddr, old.addr)
	}
	if old, ok := p.byAddr[l.addr]; ok && old.mac != l.mac && p.byMAC[old.mac] == old {
		delete(p.byMAC, old.mac)
	}
	p.byMAC[l.mac] = l
	p.byAddr[l.addr] = l
}

// Cancel drops an offer made to mac that it did not take (it requested
// another server's). Bound leases are kept.
func (p *Pool) Cancel(mac hw.MAC) {
	k := mac
	p.mu.Lock()
	defer p.mu.Unlock()
	if l, ok := p.byMAC[k]; ok && l.state == stateOffered {
		delete(p.byMAC, k)
		delete(p.byAddr, l.addr)
	}
}

// Release forgets mac's lease on addr (DHCPRELEASE). A release for an
// address the client does not hold is ignored.
func (p *Pool) Release(mac hw.MAC, addr netip.Addr) []leaseOp {
	k := mac
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.byMAC[k]
	if !ok || l.addr != addr {
		return nil
	}
	return p.dropLocked(l)
}

// dropLocked forgets lease l and returns the deletion to persist, if it
// was bound (offers are never persisted).
func (p *Pool) dropLocked(l *lease) []leaseOp {
	delete(p.byAddr, l.addr)
	if p.byMAC[l.mac] == l {
		delete(p.byMAC, l.mac)
	}
	if l.state != stateBound {
		return nil
	}
	return []leaseOp{{addr: l.addr, del: true}}
}

// Decline marks addr unusable for d after mac found it in use
// (DHCPDECLINE, RFC 2131 4.3.3), so it is not offered again soon. Only
// the client the address was given to can decline it.
func (p *Pool) Decline(mac hw.MAC, addr netip.Addr, d time.Duration) []leaseOp {
	k := mac
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.byAddr[addr]
	if !ok || l.mac != k || l.state == stateDeclined {
		return nil
	}
	delete(p.byMAC, k)
	dl := &lease{mac: k, addr: addr, expiry: p.now().Add(d), state: stateDeclined}
	p.byAddr[addr] = dl
	return []leaseOp{dl.op()}
}

// available reports whether a could be given to mac now.
func (p *Pool) available(a netip.Addr, mac hw.MAC) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.freeFor(a, mac, p.now())
}

// Lookup returns mac's current, unexpired, bound address.
func (p *Pool) Lookup(mac hw.MAC) (netip.Addr, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.byMAC[mac]
	if !ok || l.state != stateBound || !l.expiry.After(p.now()) {
		return netip.Addr{}, false
	}
	return l.addr, true
}

// Holder returns the MAC holding addr (bound or offered, unexpired).
func (p *Pool) Holder(addr netip.Addr) (hw.MAC, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.byAddr[addr]
	if !ok || !l.expiry.After(p.now()) || l.state == stateDeclined {
		return hw.MAC{}, false
	}
	return l.mac, true
}

// restore loads a persisted lease. When a MAC has several (it moved
// between addresses and a deletion was lost), the latest wins its byMAC
// slot; the others still hold their addresses until they expire.
func (p *Pool) restore(op leaseOp) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := &lease{mac: op.mac, addr: op.addr, expiry: op.expiry, state: op.state}
	p.byAddr[l.addr] = l
	if l.state != stateBound {
		return
	}
	if old, ok := p.byMAC[l.mac]; !ok || old.expiry.Before(l.expiry) {
		p.byMAC[l.mac] = l
	}
}
