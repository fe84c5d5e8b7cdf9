// Package leasetest is the contract every lease.Store passes: the
// embedded bbolt LeaseDB and the PostgreSQL store run the same tests, so
// that a DHCP server behaves the same on either.
package leasetest

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/lease"
)

// Backend opens the stores under test.
type Backend struct {
	// Open opens a new, empty store.
	Open func(t *testing.T) lease.Store
	// Reopen closes s and opens its data again, as a restart does.
	Reopen func(t *testing.T, s lease.Store) lease.Store
	// Peer, if set, opens a second store over s's data, as another
	// replica does; nil for a store only one server may open.
	Peer func(t *testing.T, s lease.Store) lease.Store
}

// Run runs the contract against b.
func Run(t *testing.T, b Backend) {
	t.Run("Durable", func(t *testing.T) { testDurable(t, b) })
	t.Run("Claims", func(t *testing.T) { testClaims(t, b) })
	t.Run("AllOrNone", func(t *testing.T) { testAllOrNone(t, b) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, b, false) })
	if b.Peer != nil {
		t.Run("Replicas", func(t *testing.T) { testConcurrent(t, b, true) })
		t.Run("PeerSeesOffers", func(t *testing.T) { testPeerOffers(t, b) })
	}
}

// Addr is the i-th test address, 10.77.x.y.
func Addr(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 77, byte(i >> 8), byte(i)}) }

// MAC is the i-th test MAC.
func MAC(i int) hw.MAC { return hw.MAC{2, 0x77, 0, 0, byte(i >> 8), byte(i)} }

// hour is a lease's end: whole microseconds, which every store keeps exactly.
func hour() time.Time { return time.Now().Add(time.Hour).Truncate(time.Millisecond) }

// Commit commits ops to s and waits for the result.
func Commit(t testing.TB, s lease.Store, ops ...lease.Op) error {
	t.Helper()
	done := make(chan error, 1)
	s.Commit(ops, func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Commit never called back")
		return nil
	}
}

func must(t *testing.T, s lease.Store, ops ...lease.Op) {
	t.Helper()
	if err := Commit(t, s, ops...); err != nil {
		t.Fatalf("commit %+v: %v", ops, err)
	}
}

func conflict(t *testing.T, s lease.Store, holder hw.MAC, ops ...lease.Op) {
	t.Helper()
	err := Commit(t, s, ops...)
	ce, ok := errors.AsType[*lease.ConflictError](err)
	if !ok {
		t.Fatalf("commit %+v: %v, want a conflict", ops, err)
	}
	if ce.Holder.MAC != holder {
		t.Errorf("conflict names holder %s, want %s", ce.Holder.MAC, holder)
	}
}

var cmpLeases = cmp.Options{cmpopts.EquateComparable(netip.Addr{}), cmpopts.EquateApproxTime(time.Millisecond),
	cmpopts.SortSlices(func(a, b lease.Lease) bool { return a.Addr.Less(b.Addr) })}

// testDurable: binds and declines survive a restart, releases and offers
// do not.
func testDurable(t *testing.T, b Backend) {
	s := b.Open(t)
	exp := hour()
	must(t, s, lease.Op{Kind: lease.Bind, Addr: Addr(1), MAC: MAC(1), Expiry: exp})
	must(t, s, lease.Op{Kind: lease.Bind, Addr: Addr(2), MAC: MAC(2), Expiry: exp})
	must(t, s, lease.Op{Kind: lease.Decline, Addr: Addr(2), MAC: MAC(2), Expiry: exp})
	must(t, s, lease.Op{Kind: lease.Bind, Addr: Addr(3), MAC: MAC(3), Expiry: exp})
	must(t, s, lease.Op{Kind: lease.Release, Addr: Addr(3), MAC: MAC(3)})
	must(t, s, lease.Op{Kind: lease.Offer, Addr: Addr(4), MAC: MAC(4), Expiry: exp})
	s = b.Reopen(t, s)
	want := []lease.Lease{
		{Addr: Addr(1), MAC: MAC(1), Expiry: exp, State: lease.Bound},
		{Addr: Addr(2), MAC: MAC(2), Expiry: exp, State: lease.Declined},
	}
	if diff := cmp.Diff(want, live(s.Leases()), cmpLeases); diff != "" {
		t.Errorf("leases after a restart (-want +got):\n%s", diff)
	}
	// The restarted store still decides by what it holds.
	conflict(t, s, MAC(1), lease.Op{Kind: lease.Bind, Addr: Addr(1), MAC: MAC(9), Expiry: exp})
	must(t, s, lease.Op{Kind: lease.Bind, Addr: Addr(3), MAC: MAC(9), Expiry: exp})
}

// live drops leases that hold nothing any more (a store may keep an
// ended lease as a row that has expired).
func live(ls []lease.Lease) []lease.Lease {
	var out []lease.Lease
	for _, l := range ls {
		if l.Live(time.Now()) && l.State != lease.Offered {
			out = append(out, l)
		}
	}
	return out
}

// testClaims walks one address through the claims of lease.Op.Apply.
func testClaims(t *testing.T, b Backend) {
	s := b.Open(t)
	a, exp := Addr(10), hour()
	me, other, third := MAC(1), MAC(2), MAC(3)
	op := func(k lease.Kind, mac hw.MAC) lease.Op { return lease.Op{Kind: k, Addr: a, MAC: mac, Expiry: exp} }
	must(t, s, op(lease.Offer, me))
	must(t, s, op(lease.Offer, me)) // again: its own offer
	conflict(t, s, me, op(lease.Offer, other))
	conflict(t, s, me, op(lease.Bind, other))
	take := op(lease.Offer, other)
	take.Takeover = true
	must(t, s, take) // a flood's offer may be taken over
	conflict(t, s, other, op(lease.Bind, me))
	must(t, s, op(lease.Bind, other))
	take = op(lease.Offer, third)
	take.Takeover = true
	conflict(t, s, other, take)        // never a lease
	must(t, s, op(lease.Offer, other)) // its own lease stands
	must(t, s, op(lease.Cancel, other))
	conflict(t, s, other, op(lease.Bind, me)) // a cancel keeps the lease
	must(t, s, op(lease.Release, me))         // not mine: nothing happens
	conflict(t, s, other, op(lease.Bind, me))
	must(t, s, op(lease.Decline, other))
	conflict(t, s, other, op(lease.Bind, other)) // declined: not even its own
	// An expired lease is free for anyone.
	past := lease.Op{Kind: lease.Bind, Addr: Addr(11), MAC: me, Expiry: time.Now().Add(100 * time.Millisecond)}
	must(t, s, past)
	time.Sleep(300 * time.Millisecond)
	must(t, s, lease.Op{Kind: lease.Bind, Addr: Addr(11), MAC: other, Expiry: exp})
}

// testAllOrNone: a request whose claim is refused changes nothing, even
// its ops before the claim.
func testAllOrNone(t *testing.T, b Backend) {
	s := b.Open(t)
	exp := hour()
	must(t, s, lease.Op{Kind: lease.Bind, Addr: Addr(20), MAC: MAC(1), Expiry: exp})
	must(t, s, lease.Op{Kind: lease.Bind, Addr: Addr(21), MAC: MAC(2), Expiry: exp})
	conflict(t, s, MAC(2),
		lease.Op{Kind: lease.Release, Addr: Addr(20), MAC: MAC(1)},
		lease.Op{Kind: lease.Bind, Addr: Addr(21), MAC: MAC(1), Expiry: exp})
	conflict(t, s, MAC(1), lease.Op{Kind: lease.Bind, Addr: Addr(20), MAC: MAC(3), Expiry: exp})
	s = b.Reopen(t, s)
	if got := len(live(s.Leases())); got != 2 {
		t.Errorf("%d leases after a refused move, want 2: %+v", got, s.Leases())
	}
}

// testConcurrent has 8 clients per address race for 40 addresses, from
// one store or (peers) from two: each address ends up bound to exactly one
// MAC, and every claim that reported success is that one.
func testConcurrent(t *testing.T, b Backend, peers bool) {
	s := b.Open(t)
	stores := []lease.Store{s}
	if peers {
		stores = append(stores, b.Peer(t, s))
	}
	const addrs, racers = 40, 8
	exp := hour()
	var mu sync.Mutex
	won := map[netip.Addr][]hw.MAC{}
	var wg sync.WaitGroup
	for i := range addrs {
		for j := range racers {
			wg.Go(func() {
				st := stores[j%len(stores)]
				mac := MAC(i*racers + j)
				op := lease.Op{Kind: lease.Offer, Addr: Addr(i), MAC: mac, Expiry: exp}
				if j%2 == 1 {
					op.Kind = lease.Bind
				}
				err := Commit(t, st, op)
				if _, ok := errors.AsType[*lease.ConflictError](err); ok {
					return
				}
				if err != nil {
					t.Errorf("%s: %v", op.Kind, err)
					return
				}
				if op.Kind == lease.Offer && Commit(t, st, lease.Op{Kind: lease.Bind, Addr: Addr(i), MAC: mac, Expiry: exp}) != nil {
					return
				}
				mu.Lock()
				won[Addr(i)] = append(won[Addr(i)], mac)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	for a, macs := range won {
		if len(macs) != 1 {
			t.Errorf("%s bound to %d clients: %v", a, len(macs), macs)
		}
	}
	if len(won) != addrs {
		t.Errorf("%d of %d addresses bound", len(won), addrs)
	}
	s = b.Reopen(t, s)
	var got []string
	for _, l := range live(s.Leases()) {
		if m := won[l.Addr]; len(m) != 1 || m[0] != l.MAC {
			got = append(got, fmt.Sprintf("%s:%s", l.Addr, l.MAC))
		}
	}
	sort.Strings(got)
	if len(got) > 0 {
		t.Errorf("stored leases that no ACK named: %v", got)
	}
}

// testPeerOffers: an offer made by one replica holds its address against
// the other's offers and binds, and its cancellation frees it.
func testPeerOffers(t *testing.T, b Backend) {
	s := b.Open(t)
	p := b.Peer(t, s)
	a, exp := Addr(30), hour()
	must(t, s, lease.Op{Kind: lease.Offer, Addr: a, MAC: MAC(1), Expiry: exp})
	conflict(t, p, MAC(1), lease.Op{Kind: lease.Offer, Addr: a, MAC: MAC(2), Expiry: exp})
	conflict(t, p, MAC(1), lease.Op{Kind: lease.Bind, Addr: a, MAC: MAC(2), Expiry: exp})
	// The client takes the other replica's offer for the same address.
	must(t, p, lease.Op{Kind: lease.Bind, Addr: a, MAC: MAC(1), Expiry: exp})
	must(t, s, lease.Op{Kind: lease.Release, Addr: a, MAC: MAC(1)})
	must(t, p, lease.Op{Kind: lease.Offer, Addr: a, MAC: MAC(2), Expiry: exp})
	must(t, p, lease.Op{Kind: lease.Cancel, Addr: a, MAC: MAC(2)})
	must(t, s, lease.Op{Kind: lease.Bind, Addr: a, MAC: MAC(3), Expiry: exp})
}
