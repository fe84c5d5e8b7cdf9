package dhcp6boot

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

// maxScan bounds how far into a range the pool looks for a free address:
// at most the first 65,536 addresses of a range are handed out, however
// large it is (a /64 has 2^64).
const maxScan = 1 << 16

type leaseState uint8

// Lease states; the stored ones (bound, declined) keep their values.
const (
	stateOffered  leaseState = iota + 1 // held for a Request; never persisted
	stateBound                          // granted in a Reply; persisted before it is sent
	stateDeclined                       // a client found it in use (Decline)
)

type lease struct {
	mac    hw.MAC
	addr   netip.Addr
	expiry time.Time
	state  leaseState
}

func (l *lease) op() leaseOp {
	return leaseOp{addr: l.addr, mac: l.mac, expiry: l.expiry, state: l.state}
}

// leaseOp is one change to the persisted lease table: the record for
// addr is replaced (put) or removed. It is dhcpboot's, for IPv6.
type leaseOp struct {
	addr   netip.Addr
	del    bool
	mac    hw.MAC
	expiry time.Time
	state  leaseState
}

// Pool hands out the addresses of one range, one per MAC, and tracks who
// holds them: an address is held by at most one MAC, and a MAC holds at
// most one address, whichever IAID or DUID it asks with (a machine's
// firmware and the iPXE it loads get the same address). Every change that
// must survive a restart is returned as leaseOps for the LeaseDB. It is
// safe for concurrent use; create it with NewPool.
type Pool struct {
	// ReservedBy, if set, names the machine an address is reserved for;
	// such an address is given to no other MAC. Set it before use.
	ReservedBy func(netip.Addr) (hw.MAC, bool)

	r      Range
	size   uint64
	now    func() time.Time
	mu     sync.Mutex
	byMAC  map[hw.MAC]*lease
	byAddr map[netip.Addr]*lease
	next   uint64 // next-fit cursor: offset into r of the next address to try
}

// NewPool returns an empty pool over r.
func NewPool(r Range) *Pool {
	return &Pool{r: r, size: r.Size(), now: time.Now, byMAC: map[hw.MAC]*lease{}, byAddr: map[netip.Addr]*lease{}}
}

// Range returns the pool's address range.
func (p *Pool) Range() Range { return p.r }

// freeFor reports whether a can be given to mac: not reserved for another
// machine, and held by nobody, by mac, or by a lease that ran out.
func (p *Pool) freeFor(a netip.Addr, mac hw.MAC, now time.Time) bool {
	if p.ReservedBy != nil {
		if m, ok := p.ReservedBy(a); ok && m != mac {
			return false
		}
	}
	l, ok := p.byAddr[a]
	return !ok || (l.mac == mac && l.state != stateDeclined) || !l.expiry.After(now)
}

// Pick chooses the address for mac and holds it for hold: its
// reservation when free, else its current address, else one it named if
// free, else the next free one after the last handed out. When the range
// is full of offers nobody took, the oldest offer goes to mac (as
// dhcpboot does against a flood of made-up clients); bound and declined
// addresses are never taken.
func (p *Pool) Pick(mac hw.MAC, hints []netip.Addr, reserved netip.Addr, hold time.Duration) (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	until := now.Add(hold)
	if reserved.IsValid() && p.freeFor(reserved, mac, now) {
		return p.holdLocked(mac, reserved, until), nil
	}
	if l, ok := p.byMAC[mac]; ok && p.r.Contains(l.addr) && p.freeFor(l.addr, mac, now) {
		return p.holdLocked(mac, l.addr, until), nil
	}
	for _, h := range hints {
		if p.r.Contains(h) && p.freeFor(h, mac, now) {
			return p.holdLocked(mac, h, until), nil
		}
	}
	var oldest *lease
	for i := uint64(0); i < p.size; i++ {
		off := (p.next + i) % p.size
		a := p.r.nth(off)
		if p.freeFor(a, mac, now) {
			p.next = (off + 1) % p.size
			return p.holdLocked(mac, a, until), nil
		}
		if l := p.byAddr[a]; l != nil && l.state == stateOffered && (oldest == nil || l.expiry.Before(oldest.expiry)) {
			oldest = l
		}
	}
	if oldest != nil {
		return p.holdLocked(mac, oldest.addr, until), nil
	}
	return netip.Addr{}, ErrPoolExhausted
}

// holdLocked marks addr offered to mac until at least expiry; a bound
// lease of mac's keeps its state and its longer expiry.
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

// Commit binds addr to mac for d (a Reply granting it) and returns the
// changes to persist before the Reply goes out. addr must be in the
// range or be mac's reservation.
func (p *Pool) Commit(mac hw.MAC, addr, reserved netip.Addr, d time.Duration) ([]leaseOp, error) {
	if !p.r.Contains(addr) && addr != reserved {
		return nil, fmt.Errorf("%s: %w", addr, ErrOutOfRange)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.ReservedBy != nil {
		if m, ok := p.ReservedBy(addr); ok && m != mac {
			return nil, fmt.Errorf("%s: %w", addr, ErrReserved)
		}
	}
	if !p.freeFor(addr, mac, now) {
		return nil, fmt.Errorf("%s: %w", addr, ErrNotYours)
	}
	var ops []leaseOp
	if old, ok := p.byMAC[mac]; ok && old.addr != addr && old.state == stateBound {
		ops = append(ops, leaseOp{addr: old.addr, del: true})
	}
	l := &lease{mac: mac, addr: addr, expiry: now.Add(d), state: stateBound}
	p.bindLocked(l)
	return append(ops, l.op()), nil
}

// bindLocked records l, dropping any other binding its MAC or address had.
func (p *Pool) bindLocked(l *lease) {
	if old, ok := p.byMAC[l.mac]; ok && old.addr != l.addr && p.byAddr[old.addr] == old {
		delete(p.byAddr, old.addr)
	}
	if old, ok := p.byAddr[l.addr]; ok && old.mac != l.mac && p.byMAC[old.mac] == old {
		delete(p.byMAC, old.mac)
	}
	p.byMAC[l.mac] = l
	p.byAddr[l.addr] = l
}

// Release ends mac's lease on addr (Release). The address is free at
// once, but the pool remembers whose it was, so that the same machine
// asking again (UEFI firmware releases its address before it starts the
// iPXE it loaded, which then asks anew) gets it back while nobody else
// has taken it. An address the client does not hold is ignored.
func (p *Pool) Release(mac hw.MAC, addr netip.Addr) []leaseOp {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.byAddr[addr]
	if !ok || l.mac != mac || l.state == stateDeclined || !l.expiry.After(p.now()) {
		return nil
	}
	bound := l.state == stateBound
	l.expiry, l.state = p.now(), stateOffered // ended: free, and never persisted again
	if !bound {
		return nil
	}
	return []leaseOp{{addr: addr, del: true}}
}

// Decline sets addr aside for d after mac found it in use (Decline, RFC
// 8415 18.3.8). Only the client the address was given to can decline it.
func (p *Pool) Decline(mac hw.MAC, addr netip.Addr, d time.Duration) []leaseOp {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.byAddr[addr]
	if !ok || l.mac != mac || l.state == stateDeclined {
		return nil
	}
	if p.byMAC[mac] == l {
		delete(p.byMAC, mac)
	}
	dl := &lease{mac: mac, addr: addr, expiry: p.now().Add(d), state: stateDeclined}
	p.byAddr[addr] = dl
	return []leaseOp{dl.op()}
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

// restore loads a persisted lease. When a MAC has several (a deletion was
// lost), the latest wins its byMAC slot.
func (p *Pool) restore(op leaseOp) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := &lease{mac: op.mac, addr: op.addr, expiry: op.expiry, state: op.state}
	p.byAddr[l.addr] = l
	if old, ok := p.byMAC[l.mac]; l.state == stateBound && (!ok || old.expiry.Before(l.expiry)) {
		p.byMAC[l.mac] = l
	}
}
