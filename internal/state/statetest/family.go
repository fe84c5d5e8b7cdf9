package statetest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

// testBindingsPerFamily: one MAC's IPv4 and IPv6 bindings are kept side
// by side, each found by the family of the address asked about, across
// a restart; another MAC taking the IPv6 address ends only the IPv6 one,
// and after a restart the newer binding of that address holds, though
// the record of the older one is still there.
func testBindingsPerFamily(t *testing.T, b Backend) {
	s, be := b.open(t)
	a4, a6 := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("fd42::105")
	now := s.Now()
	bind := func(addr netip.Addr, since time.Duration) state.Binding {
		return state.Binding{Addr: addr, Since: now.Add(since), Until: now.Add(time.Hour), Source: state.BoundByLease}
	}
	s.Bind(mac1, bind(a4, 0))
	b6 := bind(a6, 0)
	s.Record(state.Event{MAC: mac1, Kind: state.KindDHCP, Outcome: state.OK, IP: a6, Detail: "DHCPv6 REQUEST", Bind: &b6})
	Flush(t, s, mac1, 1)
	checkFamilies(t, "live", s, mac1, now, a4, a6)
	if mac, ok := s.MACFor(a6); !ok || mac != mac1 {
		t.Errorf("MACFor(%s) = %v %v, want %s", a6, mac, ok, mac1)
	}
	s, be = b.reopen(t, s, be)
	checkFamilies(t, "after restart", s, mac1, now, a4, a6)
	s.Bind(mac2, bind(a6, time.Second))
	if _, ok := s.BindingFor(mac1, a6, now); ok {
		t.Error("mac1 still bound to an IPv6 address granted to mac2")
	}
	if got, ok := s.BindingFor(mac1, a4, now); !ok || got.Addr != a4 {
		t.Errorf("mac1's IPv4 binding = %v %v after its IPv6 one went, want %s", got.Addr, ok, a4)
	}
	Flush(t, s, mac1, 1)
	s, _ = b.reopen(t, s, be)
	if got, ok := s.BindingFor(mac2, a6, now); !ok || got.Addr != a6 {
		t.Errorf("after restart mac2's IPv6 binding = %v %v, want %s", got.Addr, ok, a6)
	}
	if got, ok := s.BindingFor(mac1, a6, now); ok {
		t.Errorf("after restart mac1 is bound to %s, which mac2 holds", got.Addr)
	}
	if got, ok := s.BindingFor(mac1, a4, now); !ok || got.Addr != a4 {
		t.Errorf("after restart mac1's IPv4 binding = %v %v, want %s", got.Addr, ok, a4)
	}
}

// testReplicasBindingsPerFamily: what one replica bound in each family
// the other reads from the database.
func testReplicasBindingsPerFamily(t *testing.T, b Backend) {
	a, be := b.open(t)
	p := store(t, b.Peer(t, be))
	a4, a6 := netip.MustParseAddr("10.0.0.30"), netip.MustParseAddr("fd42::130")
	now := a.Now()
	for _, addr := range []netip.Addr{a4, a6} {
		a.Bind(mac1, state.Binding{Addr: addr, Since: now, Until: now.Add(time.Hour), Source: state.BoundByLease})
	}
	a.Record(state.Event{MAC: mac1, Kind: state.KindMenu, Outcome: state.OK, IP: a4})
	Flush(t, p, mac1, 1)
	checkFamilies(t, "other replica", p, mac1, now, a4, a6)
	// The other replica grants the IPv6 address to mac2: the first sees
	// mac1's IPv6 binding end and its IPv4 one stay.
	p.Bind(mac2, state.Binding{Addr: a6, Since: now.Add(time.Second), Until: now.Add(time.Hour), Source: state.BoundByLease})
	p.Record(state.Event{MAC: mac2, Kind: state.KindMenu, Outcome: state.OK, IP: a6})
	Flush(t, a, mac2, 1)
	if got, ok := a.BindingFor(mac1, a6, now); ok {
		t.Errorf("first replica: mac1 still bound to %s, granted to mac2 by the other", got.Addr)
	}
	if got, ok := a.BindingFor(mac2, a6, now); !ok || got.Addr != a6 {
		t.Errorf("first replica: mac2's IPv6 binding = %v %v, want %s", got.Addr, ok, a6)
	}
	if got, ok := a.BindingFor(mac1, a4, now); !ok || got.Addr != a4 {
		t.Errorf("first replica: mac1's IPv4 binding = %v %v, want %s", got.Addr, ok, a4)
	}
}

// checkFamilies checks that s holds a4 and a6 as mac's bindings, found by
// the family of the address asked about.
func checkFamilies(t *testing.T, when string, s *state.Store, mac hw.MAC, now time.Time, a4, a6 netip.Addr) {
	t.Helper()
	for ask, want := range map[netip.Addr]netip.Addr{
		netip.MustParseAddr("10.9.9.9"):        a4,
		netip.MustParseAddr("::ffff:10.9.9.9"): a4,
		netip.MustParseAddr("fd42::9"):         a6,
		netip.MustParseAddr("fe80::1"):         a6,
	} {
		if got, ok := s.BindingFor(mac, ask, now); !ok || got.Addr != want {
			t.Errorf("%s: BindingFor(%s) = %v %v, want %s", when, ask, got.Addr, ok, want)
		}
	}
	if got, ok := s.Binding(mac, now); !ok || got.Addr != a4 {
		t.Errorf("%s: Binding = %v %v, want the IPv4 one %s", when, got.Addr, ok, a4)
	}
}
