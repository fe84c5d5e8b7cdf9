package dhcpboot

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Errors returned by Pool.
var (
	ErrPoolExhausted = errors.New("address pool exhausted")
	ErrNotYours      = errors.New("address is leased to another client")
	ErrOutOfRange    = errors.New("address outside the pool")
)

// Range is an inclusive range of IPv4 addresses to lease in full mode.
type Range struct{ Start, End netip.Addr }

// ParseRange parses "10.0.0.100-10.0.0.200".
func ParseRange(s string) (Range, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Range{}, fmt.Errorf("dhcp range %q: want START-END", s)
	}
	start, err1 := netip.ParseAddr(strings.TrimSpace(a))
	end, err2 := netip.ParseAddr(strings.TrimSpace(b))
	if err := errors.Join(err1, err2); err != nil {
		return Range{}, fmt.Errorf("dhcp range %q: %w", s, err)
	}
	if !start.Is4() || !end.Is4() || end.Less(start) {
		return Range{}, fmt.Errorf("dhcp range %q: want two IPv4 addresses, lowest first", s)
	}
	return Range{start, end}, nil
}

// Contains reports whether a is inside the range.
func (r Range) Contains(a netip.Addr) bool {
	return a.Is4() && !a.Less(r.Start) && !r.End.Less(a)
}

// String formats the range as START-END.
func (r Range) String() string { return r.Start.String() + "-" + r.End.String() }

type lease struct {
	mac    string
	addr   netip.Addr
	expiry time.Time
}

// Pool hands out addresses from a Range and remembers them in memory: a
// client keeps its address across renewals and reboots while the server
// runs. It is safe for concurrent use. The zero value is not usable; call
// NewPool.
type Pool struct {
	r      Range
	now    func() time.Time
	mu     sync.Mutex
	byMAC  map[string]*lease
	byAddr map[netip.Addr]*lease
}

// NewPool returns an empty pool over r.
func NewPool(r Range) *Pool {
	return &Pool{r: r, now: time.Now, byMAC: map[string]*lease{}, byAddr: map[netip.Addr]*lease{}}
}

// Range returns the pool's address range.
func (p *Pool) Range() Range { return p.r }

// Offer picks an address for mac and holds it for hold: the client's current
// address, else the one it asked for if free, else the lowest free one.
func (p *Pool) Offer(mac net.HardwareAddr, requested netip.Addr, hold time.Duration) (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if l, ok := p.byMAC[mac.String()]; ok {
		if l.expiry.Before(now.Add(hold)) {
			l.expiry = now.Add(hold)
		}
		return l.addr, nil
	}
	if p.r.Contains(requested) && p.freeLocked(requested, now) {
		return p.bindLocked(mac, requested, now.Add(hold)), nil
	}
	for a := p.r.Start; p.r.Contains(a); a = a.Next() {
		if p.freeLocked(a, now) {
			return p.bindLocked(mac, a, now.Add(hold)), nil
		}
	}
	return netip.Addr{}, ErrPoolExhausted
}

// Commit confirms that mac holds addr for d (a DHCPREQUEST being ACKed).
func (p *Pool) Commit(mac net.HardwareAddr, addr netip.Addr, d time.Duration) error {
	if !p.r.Contains(addr) {
		return fmt.Errorf("%s: %w", addr, ErrOutOfRange)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if l, ok := p.byAddr[addr]; ok && l.mac != mac.String() && l.expiry.After(now) {
		return fmt.Errorf("%s: %w", addr, ErrNotYours)
	}
	p.bindLocked(mac, addr, now.Add(d))
	return nil
}

// Release forgets mac's lease on addr (DHCPRELEASE). A release for an
// address the client does not hold is ignored.
func (p *Pool) Release(mac net.HardwareAddr, addr netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l, ok := p.byMAC[mac.String()]; ok && l.addr == addr {
		delete(p.byMAC, l.mac)
		delete(p.byAddr, l.addr)
	}
}

// Lookup returns mac's current, unexpired address.
func (p *Pool) Lookup(mac net.HardwareAddr) (netip.Addr, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.byMAC[mac.String()]
	if !ok || !l.expiry.After(p.now()) {
		return netip.Addr{}, false
	}
	return l.addr, true
}

func (p *Pool) freeLocked(a netip.Addr, now time.Time) bool {
	l, ok := p.byAddr[a]
	return !ok || !l.expiry.After(now)
}

// bindLocked gives addr to mac, dropping any other binding either had.
func (p *Pool) bindLocked(mac net.HardwareAddr, addr netip.Addr, expiry time.Time) netip.Addr {
	m := mac.String()
	if old, ok := p.byMAC[m]; ok {
		delete(p.byAddr, old.addr)
	}
	if old, ok := p.byAddr[addr]; ok {
		delete(p.byMAC, old.mac)
	}
	l := &lease{mac: m, addr: addr, expiry: expiry}
	p.byMAC[m] = l
	p.byAddr[addr] = l
	return addr
}

// Decline marks addr unusable for d after a client found it in use
// (DHCPDECLINE, RFC 2131 4.3.3), so it is not offered again soon.
func (p *Pool) Decline(mac net.HardwareAddr, addr netip.Addr, d time.Duration) {
	if !p.r.Contains(addr) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if l, ok := p.byMAC[mac.String()]; ok && l.addr == addr {
		delete(p.byMAC, l.mac)
	}
	p.byAddr[addr] = &lease{mac: "declined", addr: addr, expiry: p.now().Add(d)}
}
