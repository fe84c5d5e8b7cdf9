package state

import (
	"net/netip"
	"sync"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// Binding is what bootwright trusts about which address a machine has:
// set only by what its own DHCP server did (a lease its DISCOVER/REQUEST
// state machine granted, or in proxy mode the PXE boot server exchange on
// port 4011), never by a client's say-so (ciaddr, INFORM, a URL). A
// machine has at most one binding per address family: its DHCPv4 one and
// its DHCPv6 one (a DHCPv6 Reply granting an IA_NA address, or the proxy's
// port 4011 exchange over IPv6) live side by side.
type Binding struct {
	Addr   netip.Addr `json:"addr"`
	Since  time.Time  `json:"since"`  // when this boot was bound: the issue time of its tokens
	Until  time.Time  `json:"until"`  // the end of the lease (or of the proxy binding)
	Source string     `json:"source"` // "lease" or "pxe-4011"
}

// Binding sources.
const (
	BoundByLease = "lease"    // full mode: a REQUEST this server ACKed
	BoundByPXE   = "pxe-4011" // proxy mode: the PXE boot server exchange
)

// machineInfo is what the store keeps in memory of each machine.
type machineInfo struct {
	state         string
	revokedBefore time.Time
}

// bindKey is a machine's binding slot: one per address family.
type bindKey struct {
	mac hw.MAC
	v6  bool
}

func keyOf(mac hw.MAC, addr netip.Addr) bindKey { return bindKey{mac, addr.Unmap().Is6()} }

// bindings holds the live bindings in memory, each address bound to one
// MAC at most.
type bindings struct {
	mu     sync.RWMutex
	byMAC  map[bindKey]Binding
	byAddr map[netip.Addr]hw.MAC
}

// set binds mac to b.Addr in its family, unbinding whichever MAC held
// that address.
func (bs *bindings) set(mac hw.MAC, b Binding) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.byMAC == nil {
		bs.byMAC, bs.byAddr = map[bindKey]Binding{}, map[netip.Addr]hw.MAC{}
	}
	k := keyOf(mac, b.Addr)
	if old, ok := bs.byAddr[b.Addr]; ok && old != mac {
		delete(bs.byMAC, keyOf(old, b.Addr))
	}
	if prev, ok := bs.byMAC[k]; ok && bs.byAddr[prev.Addr] == mac {
		delete(bs.byAddr, prev.Addr)
	}
	bs.byMAC[k], bs.byAddr[b.Addr] = b, mac
}

// merge takes b, mac's binding in its family as another replica may have
// written it, unless what this replica knows is as new: its own binding
// of mac, or of b's address to another MAC, made no earlier (and perhaps
// not written yet). A superseded b (its address bound to another MAC
// since) ends mac's binding in that family, unless this replica's is
// newer than b.
func (bs *bindings) merge(mac hw.MAC, b Binding, superseded bool) {
	k := keyOf(mac, b.Addr)
	bs.mu.Lock()
	cur, ok := bs.byMAC[k]
	if superseded {
		if ok && !cur.Since.After(b.Since) {
			if bs.byAddr[cur.Addr] == mac {
				delete(bs.byAddr, cur.Addr)
			}
			delete(bs.byMAC, k)
		}
		bs.mu.Unlock()
		return
	}
	if ok && !b.Since.After(cur.Since) {
		bs.mu.Unlock()
		return
	}
	if holder, ok := bs.byAddr[b.Addr]; ok && holder != mac && !b.Since.After(bs.byMAC[keyOf(holder, b.Addr)].Since) {
		bs.mu.Unlock()
		return
	}
	bs.mu.Unlock()
	bs.set(mac, b)
}

// kindBind marks a queued item that only carries a binding: the lease of
// a client that is not a boot client and not listed, which makes no
// event, but whose address must stop counting as another machine's.
const kindBind = "bind"

// Bind records that DHCP bound b.Addr to mac, without an event. It never
// blocks; the binding holds at once and is written with the next batch.
func (s *Store) Bind(mac hw.MAC, b Binding) {
	s.Record(Event{Time: s.Now(), MAC: mac, Kind: kindBind, Outcome: OK, Bind: &b})
}

// Binding returns mac's IPv4 binding if it is live at now, else its
// IPv6 one.
func (s *Store) Binding(mac hw.MAC, now time.Time) (Binding, bool) {
	if s.shared != nil {
		s.info(mac)
	}
	if b, ok := s.bindingFor(keyOf(mac, netip.IPv4Unspecified()), now); ok {
		return b, true
	}
	return s.bindingFor(keyOf(mac, netip.IPv6Unspecified()), now)
}

// BindingFor returns mac's binding in the address family of addr (IPv4
// for an IPv4-mapped address) if it is live at now: a request that comes
// over IPv6 is held to what DHCPv6 bound. Replicas read it from the
// database when they can: another replica's DHCP may have made it.
func (s *Store) BindingFor(mac hw.MAC, addr netip.Addr, now time.Time) (Binding, bool) {
	if s.shared != nil {
		s.info(mac)
	}
	return s.bindingFor(keyOf(mac, addr), now)
}

// bindingFor returns the binding in slot k if it is live at now.
func (s *Store) bindingFor(k bindKey, now time.Time) (Binding, bool) {
	s.binds.mu.RLock()
	defer s.binds.mu.RUnlock()
	b, ok := s.binds.byMAC[k]
	if !ok || !now.Before(b.Until) {
		return Binding{}, false
	}
	return b, true
}

// RevokedBefore returns the time before which mac's tokens are void: its
// last reinstall or install callback, on any replica; zero when none.
func (s *Store) RevokedBefore(mac hw.MAC) time.Time {
	in, _ := s.info(mac)
	return in.revokedBefore
}

// Now is the store's clock: the wall clock (for replicas, the shared
// database's), but never earlier than any time it returned before, in
// this process or (within ten minutes) before a restart, so a clock
// stepped back cannot make an expired token valid again.
func (s *Store) Now() time.Time {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	if now := s.wallNow(); now.After(s.clock) {
		s.clock = now
	}
	return s.clock
}

// wallNow is the clock Now starts from.
func (s *Store) wallNow() time.Time {
	if s.shared != nil {
		return s.shared.Now()
	}
	return time.Now()
}

// saveClock persists the clock's high-water mark.
func (s *Store) saveClock() error { return s.b.SaveClock(s.Now()) }
