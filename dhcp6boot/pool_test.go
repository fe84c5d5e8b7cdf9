package dhcp6boot

import (
	"errors"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/hw"
)

func testPool(start, end string) (*Pool, *time.Time) {
	p := NewPool(Range{netip.MustParseAddr(start), netip.MustParseAddr(end)})
	now := time.Unix(1e9, 0)
	p.now = func() time.Time { return now }
	return p, &now
}

func TestPoolOneAddressPerMAC(t *testing.T) {
	p, now := testPool("fd42::100", "fd42::102")
	a, b := hw.MAC{2, 0, 0, 0, 0, 1}, hw.MAC{2, 0, 0, 0, 0, 2}
	x, _ := p.Pick(a, nil, netip.Addr{}, time.Minute)
	if _, err := p.Commit(a, x, netip.Addr{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Whatever it names (another IA, iPXE after the firmware), a keeps x.
	if y, _ := p.Pick(a, []netip.Addr{netip.MustParseAddr("fd42::102")}, netip.Addr{}, time.Minute); y != x {
		t.Errorf("a moved from %s to %s", x, y)
	}
	if _, err := p.Commit(b, x, netip.Addr{}, time.Hour); !errors.Is(err, ErrNotYours) {
		t.Errorf("b took a's address: %v", err)
	}
	// Released: free for others, and a gets it back while nobody took it.
	if ops := p.Release(a, x); len(ops) != 1 || !ops[0].del {
		t.Errorf("release ops %+v", ops)
	}
	if m, ok := p.Holder(x); ok {
		t.Errorf("released %s still held by %s", x, m)
	}
	if y, _ := p.Pick(a, nil, netip.Addr{}, time.Minute); y != x {
		t.Errorf("a got %s after releasing %s", y, x)
	}
	// Declined: set aside for everyone until it expires.
	p.Commit(a, x, netip.Addr{}, time.Hour)
	if ops := p.Decline(a, x, time.Hour); len(ops) != 1 || ops[0].state != stateDeclined {
		t.Errorf("decline ops %+v", ops)
	}
	for _, m := range []hw.MAC{a, b} {
		if y, _ := p.Pick(m, []netip.Addr{x}, netip.Addr{}, time.Minute); y == x {
			t.Errorf("declined %s offered to %s", x, m)
		}
	}
	*now = now.Add(2 * time.Hour)
	if _, ok := p.Holder(x); ok {
		t.Error("declined address still held after its time")
	}
}

func TestPoolExhaustedAndTakeover(t *testing.T) {
	p, now := testPool("fd42::100", "fd42::101")
	macs := []hw.MAC{{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 3}}
	first, _ := p.Pick(macs[0], nil, netip.Addr{}, time.Minute)
	*now = now.Add(time.Second)
	second, _ := p.Pick(macs[1], nil, netip.Addr{}, time.Minute)
	// Full of offers: the third MAC takes the oldest.
	if got, err := p.Pick(macs[2], nil, netip.Addr{}, time.Minute); err != nil || got != first {
		t.Errorf("takeover = %s %v, want %s", got, err, first)
	}
	// Bound addresses are never taken.
	p.Commit(macs[1], second, netip.Addr{}, time.Hour)
	p.Commit(macs[2], first, netip.Addr{}, time.Hour)
	if _, err := p.Pick(macs[0], nil, netip.Addr{}, time.Minute); !errors.Is(err, ErrPoolExhausted) {
		t.Errorf("full pool: %v", err)
	}
	if _, err := p.Commit(macs[0], netip.MustParseAddr("fd42::9"), netip.Addr{}, time.Hour); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("out of range: %v", err)
	}
}

func TestPoolHugeRange(t *testing.T) {
	p, _ := testPool("fd42::", "fd42::ffff:ffff:ffff:ffff")
	if p.size != maxScan {
		t.Errorf("size %d, want the cap %d", p.size, maxScan)
	}
	a, err := p.Pick(hw.MAC{2, 0, 0, 0, 0, 1}, nil, netip.Addr{}, time.Minute)
	if err != nil || a != netip.MustParseAddr("fd42::") {
		t.Errorf("first pick %s %v", a, err)
	}
}

// TestLeasesSurviveRestart: leases persisted through the DHCPv4 lease
// file's database come back, in the table of their own.
func TestLeasesSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), dhcpboot.LeaseFileName)
	open := func() (*dhcpboot.LeaseDB, *LeaseDB) {
		db4, err := dhcpboot.OpenLeaseDB(path)
		if err != nil {
			t.Fatal(err)
		}
		db6, err := OpenLeaseDB(db4.Bolt(), path)
		if err != nil {
			t.Fatal(err)
		}
		return db4, db6
	}
	db4, db6 := open()
	s := testServer(dhcpboot.ModeFull)
	s.Leases = db6
	s.init()
	ops, err := s.pools[0].Commit(testMAC, netip.MustParseAddr("fd42:231::101"), netip.Addr{}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	db6.commit(ops, func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	db6.Close()
	db4.Close()

	db4, db6 = open()
	defer db4.Close()
	defer db6.Close()
	if db6.Len() != 1 || db4.Len() != 0 {
		t.Fatalf("reopened: %d IPv6 and %d IPv4 leases, want 1 and 0", db6.Len(), db4.Len())
	}
	s = testServer(dhcpboot.ModeFull)
	s.Leases = db6
	if a, ok := s.Pool(0).Lookup(testMAC); !ok || a != netip.MustParseAddr("fd42:231::101") {
		t.Errorf("after restart %s holds %s %v", testMAC, a, ok)
	}
}
