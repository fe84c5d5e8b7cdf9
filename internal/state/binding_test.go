package state

import (
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

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
