package state

import (
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

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

var (
	bucketBindings = []byte("bindings")
	keyClock       = []byte("clock")
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
	if b, ok := s.BindingFor(mac, netip.IPv4Unspecified(), now); ok {
		return b, true
	}
	return s.BindingFor(mac, netip.IPv6Unspecified(), now)
}

// BindingFor returns mac's binding in the address family of addr (IPv4
// for an IPv4-mapped address) if it is live at now: a request that comes
// over IPv6 is held to what DHCPv6 bound.
func (s *Store) BindingFor(mac hw.MAC, addr netip.Addr, now time.Time) (Binding, bool) {
	s.binds.mu.RLock()
	defer s.binds.mu.RUnlock()
	b, ok := s.binds.byMAC[keyOf(mac, addr)]
	if !ok || !now.Before(b.Until) {
		return Binding{}, false
	}
	return b, true
}

// bindingKey is the stored key of a binding: the MAC for IPv4, the MAC
// and "/6" for IPv6 (a bootwright that knows no IPv6 skips such keys).
func bindingKey(mac hw.MAC, addr netip.Addr) []byte {
	if keyOf(mac, addr).v6 {
		return []byte(mac.String() + "/6")
	}
	return machineKey(mac)
}

// RevokedBefore returns the time before which mac's tokens are void: its
// last reinstall or install callback; zero when none.
func (s *Store) RevokedBefore(mac hw.MAC) time.Time {
	if v, ok := s.states.Load(mac); ok {
		return v.(machineInfo).revokedBefore
	}
	return time.Time{}
}

// Now is the store's clock: the wall clock, but never earlier than any
// time it returned before, in this process or (within ten minutes) before
// a restart, so a clock stepped back cannot make an expired token valid
// again.
func (s *Store) Now() time.Time {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	if now := time.Now(); now.After(s.clock) {
		s.clock = now
	}
	return s.clock
}

// saveClock persists the clock's high-water mark.
func (s *Store) saveClock() error {
	now := s.Now()
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyClock, binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano())))
	})
}

// loadBindings reads the clock and the live bindings at start-up.
func (s *Store) loadBindings(tx *bolt.Tx) error {
	if v := tx.Bucket(bucketMeta).Get(keyClock); len(v) == 8 {
		s.clock = time.Unix(0, int64(binary.BigEndian.Uint64(v)))
	}
	now := s.Now()
	type stored struct {
		mac hw.MAC
		b   Binding
	}
	var all []stored
	err := tx.Bucket(bucketBindings).ForEach(func(k, v []byte) error {
		mac, err := hw.ParseMAC(strings.TrimSuffix(string(k), "/6"))
		var b Binding
		if err != nil || json.Unmarshal(v, &b) != nil || !now.Before(b.Until) {
			return nil // expired or unreadable: Prune deletes it
		}
		all = append(all, stored{mac, b})
		return nil
	})
	// Oldest first: when an address moved from one machine to another,
	// the record of its former holder is still there, and the newer
	// binding must be the one that holds.
	slices.SortStableFunc(all, func(a, b stored) int { return a.b.Since.Compare(b.b.Since) })
	for _, x := range all {
		s.binds.set(x.mac, x.b)
	}
	return err
}

// pruneBindings deletes the bindings that ended before now.
func (s *Store) pruneBindings(now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBindings)
		var dead [][]byte
		b.ForEach(func(k, v []byte) error {
			var bd Binding
			if json.Unmarshal(v, &bd) != nil || !now.Before(bd.Until) {
				dead = append(dead, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
