package state

import (
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bootwright/bootwright/internal/hw"
)

func TestBindings(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s := open(t, path)
	a, b := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.0.6")
	now := s.Now()
	bind := func(addr netip.Addr, until time.Duration) *Binding {
		return &Binding{Addr: addr, Since: now, Until: now.Add(until), Source: BoundByLease}
	}
	s.Record(Event{MAC: mac1, Kind: KindDHCP, Outcome: OK, IP: a, Bind: bind(a, time.Hour)})
	if got, ok := s.Binding(mac1, now); !ok || got.Addr != a {
		t.Fatalf("binding = %v %v, want %s at once", got, ok, a)
	}
	// The same address granted to another MAC unbinds the first.
	s.Bind(mac2, *bind(a, time.Hour))
	if _, ok := s.Binding(mac1, now); ok {
		t.Error("mac1 still bound to an address granted to mac2")
	}
	// Within a second of the first: a repeat, not kept as an event, but
	// its binding is.
	s.Record(Event{MAC: mac1, Kind: KindDHCP, Outcome: OK, IP: b, Bind: bind(b, time.Minute)})
	if _, ok := s.Binding(mac1, now.Add(2*time.Minute)); ok {
		t.Error("a binding outlived its lease")
	}
	// An event without Bind, a ciaddr for instance, binds nothing.
	s.Record(Event{MAC: mac2, Kind: KindDHCP, Outcome: OK, IP: b, Detail: "INFORM"})
	if got, _ := s.Binding(mac2, now); got.Addr != a {
		t.Errorf("mac2 bound to %s after an event without Bind, want %s", got.Addr, a)
	}
	flush(t, s, mac2, 1)
	s.Close()

	// After a restart: the same bindings; mac2's Bind made no machine.
	s = open(t, path)
	defer s.Close()
	if got, ok := s.Binding(mac1, now); !ok || got.Addr != b {
		t.Errorf("after restart mac1 = %v %v, want %s", got, ok, b)
	}
	if got, ok := s.Binding(mac2, now); !ok || got.Addr != a || got.Source != BoundByLease {
		t.Errorf("after restart mac2 = %v %v, want %s", got, ok, a)
	}
}

func TestBindAloneMakesNoMachine(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), FileName))
	defer s.Close()
	now := s.Now()
	s.Bind(mac1, Binding{Addr: netip.MustParseAddr("10.0.0.7"), Since: now, Until: now.Add(time.Hour)})
	s.Record(Event{MAC: mac2, Kind: KindFile, Outcome: Refused, Detail: "preseed.cfg: no token"})
	flush(t, s, mac2, 1) // the refusal is kept as an event
	for _, m := range []hw.MAC{mac1, mac2} {
		if _, err := s.Machine(m); err == nil {
			t.Errorf("%s became a machine", m)
		}
	}
}

func TestRefusalsKeepState(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), FileName))
	defer s.Close()
	s.Record(Event{MAC: mac1, Kind: KindMenu, Outcome: OK, Known: true})
	flush(t, s, mac1, 1)
	for i, e := range []Event{
		{Kind: KindFile, Outcome: Refused, Detail: "preseed.cfg: wrong token"},
		{Kind: KindFile, Outcome: Error, Detail: "preseed.cfg: render failed"},
		{Kind: KindCallback, Outcome: Refused, Detail: "token expired"},
	} {
		e.MAC, e.Known = mac1, true
		s.Record(e)
		flush(t, s, mac1, i+2)
		if st := s.StateOf(mac1); st != Assigned {
			t.Errorf("after %s %s: state %q, want assigned", e.Kind, e.Outcome, st)
		}
	}
	s.Record(Event{MAC: mac1, Kind: KindFile, Outcome: OK, Known: true, Detail: "preseed.cfg"})
	flush(t, s, mac1, 5)
	if st := s.StateOf(mac1); st != Installing {
		t.Errorf("after a served file: %q, want installing", st)
	}
	m, err := s.Installed(mac1, netip.Addr{}, true)
	if err != nil || m.State != Installed || m.RevokedBefore.IsZero() || s.RevokedBefore(mac1) != m.RevokedBefore {
		t.Errorf("Installed = %+v, %v; revoked before %v", m, err, s.RevokedBefore(mac1))
	}
	at := m.RevokedBefore
	if m, _ := s.Reinstall(mac1, true); !m.RevokedBefore.After(at) && !m.RevokedBefore.Equal(at) {
		t.Errorf("Reinstall moved revocation back: %v < %v", m.RevokedBefore, at)
	}
}

// TestClockRemembers: a clock stepped back across a restart does not take
// the store's clock with it.
func TestClockRemembers(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s := open(t, path)
	s.Close()
	future := time.Now().Add(48 * time.Hour)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyClock, binary.BigEndian.AppendUint64(nil, uint64(future.UnixNano())))
	})
	db.Close()
	s = open(t, path)
	defer s.Close()
	if now := s.Now(); now.Before(future) {
		t.Errorf("Now = %v, before the remembered %v", now, future)
	}
}

// TestBindingsPerFamily: a machine's DHCPv4 and DHCPv6 bindings live side
// by side, each asked for by the family of the request, across a restart.
func TestBindingsPerFamily(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s := open(t, path)
	a4, a6 := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("fd42::105")
	now := s.Now()
	s.Bind(mac1, Binding{Addr: a4, Since: now, Until: now.Add(time.Hour), Source: BoundByLease})
	s.Record(Event{MAC: mac1, Kind: KindDHCP, Outcome: OK, IP: a6, Detail: "DHCPv6 REQUEST",
		Bind: &Binding{Addr: a6, Since: now, Until: now.Add(time.Hour), Source: BoundByLease}})
	check := func(when string, s *Store) {
		t.Helper()
		for ask, want := range map[netip.Addr]netip.Addr{
			netip.MustParseAddr("10.9.9.9"):         a4,
			netip.MustParseAddr("::ffff:10.9.9.9"):  a4,
			netip.MustParseAddr("fd42::9"):          a6,
			netip.MustParseAddr("fe80::1"):          a6,
			netip.MustParseAddr("2001:db8::abcd:1"): a6,
		} {
			if got, ok := s.BindingFor(mac1, ask, now); !ok || got.Addr != want {
				t.Errorf("%s: BindingFor(%s) = %v %v, want %s", when, ask, got.Addr, ok, want)
			}
		}
		if got, ok := s.Binding(mac1, now); !ok || got.Addr != a4 {
			t.Errorf("%s: Binding = %v %v, want the IPv4 one", when, got.Addr, ok)
		}
		if mac, ok := s.MACFor(a6); when == "live" && (!ok || mac != mac1) {
			t.Errorf("%s: MACFor(%s) = %v %v", when, a6, mac, ok)
		}
	}
	check("live", s)
	// Another machine taking the IPv6 address unbinds only mac1's IPv6 side.
	s.Bind(mac2, Binding{Addr: a6, Since: now.Add(time.Second), Until: now.Add(time.Hour), Source: BoundByLease})
	if _, ok := s.BindingFor(mac1, a6, now); ok {
		t.Error("mac1 still bound to an IPv6 address granted to mac2")
	}
	if got, ok := s.BindingFor(mac1, a4, now); !ok || got.Addr != a4 {
		t.Error("mac1 lost its IPv4 binding when its IPv6 one went")
	}
	// And back: after a restart the newer binding holds, though the
	// record of mac2's is still there.
	s.Bind(mac1, Binding{Addr: a6, Since: now.Add(2 * time.Second), Until: now.Add(time.Hour), Source: BoundByLease})
	flush(t, s, mac1, 1)
	s.Close()
	s = open(t, path)
	defer s.Close()
	check("after restart", s)
}
