package dhcpboot

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/lease"
)

func TestParseRange(t *testing.T) {
	good, err := ParseRange("10.0.0.10 - 10.0.0.20")
	if err != nil || good.String() != "10.0.0.10-10.0.0.20" || good.Size() != 11 {
		t.Fatalf("ParseRange = %v, %v", good, err)
	}
	for _, bad := range []string{"", "10.0.0.1", "10.0.0.20-10.0.0.10", "fe80::1-fe80::2", "a-b"} {
		if _, err := ParseRange(bad); err == nil {
			t.Errorf("ParseRange(%q) accepted", bad)
		}
	}
}

func TestPool(t *testing.T) {
	a := hw.MAC{2, 0, 0, 0, 0, 1}
	b := hw.MAC{2, 0, 0, 0, 0, 2}
	c := hw.MAC{2, 0, 0, 0, 0, 3}
	ip := netip.MustParseAddr
	none := netip.Addr{}
	now := time.Unix(1e9, 0)
	p := NewPool(Range{ip("10.0.0.10"), ip("10.0.0.11")})
	p.now = func() time.Time { return now }

	got, _, err := p.Offer(a, none, none, time.Minute)
	if err != nil || got != ip("10.0.0.10") {
		t.Fatalf("first offer = %v, %v", got, err)
	}
	if again, _, _ := p.Offer(a, ip("10.0.0.11"), none, time.Minute); again != got {
		t.Errorf("a client keeps its offer: got %v, want %v", again, got)
	}
	if got, _, _ := p.Offer(b, ip("10.0.0.10"), none, time.Minute); got != ip("10.0.0.11") {
		t.Errorf("b asked for a's address and got %v, want 10.0.0.11", got)
	}
	if _, err := p.Commit(b, ip("10.0.0.10"), none, time.Hour); !errors.Is(err, ErrNotYours) {
		t.Errorf("b committing a's offered address: err = %v, want ErrNotYours", err)
	}
	if _, err := p.Commit(a, ip("10.0.0.99"), none, time.Hour); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("out of range commit: err = %v", err)
	}
	ops, err := p.Commit(a, ip("10.0.0.10"), none, time.Hour)
	if err != nil || len(ops) != 1 || ops[0].Kind != lease.Bind || ops[0].Addr != ip("10.0.0.10") {
		t.Fatalf("commit = %+v, %v", ops, err)
	}
	// Nothing is free: a third client takes over b's offer, never a's lease.
	if got, _, err := p.Offer(c, ip("10.0.0.10"), none, time.Minute); err != nil || got != ip("10.0.0.11") {
		t.Errorf("third client got %v, %v; want b's offered 10.0.0.11", got, err)
	}
	if _, err := p.Commit(b, ip("10.0.0.11"), none, time.Hour); !errors.Is(err, ErrNotYours) {
		t.Errorf("b committing its taken-over offer: err = %v, want ErrNotYours", err)
	}
	// b's offer expires; c can then take its address, never a's.
	now = now.Add(2 * time.Minute)
	if got, _, err := p.Offer(c, ip("10.0.0.10"), none, time.Minute); err != nil || got != ip("10.0.0.11") {
		t.Errorf("after expiry, c got %v, %v; want 10.0.0.11", got, err)
	}
	if got, ok := p.Lookup(a); !ok || got != ip("10.0.0.10") {
		t.Errorf("Lookup(a) = %v, %v", got, ok)
	}
	if ops := p.Release(b, ip("10.0.0.10")); ops != nil {
		t.Errorf("b released a's address: %+v", ops)
	}
	if ops := p.Release(a, ip("10.0.0.10")); len(ops) != 1 || ops[0].Kind != lease.Release {
		t.Errorf("release ops = %+v", ops)
	}
	if _, ok := p.Lookup(a); ok {
		t.Error("released lease still found")
	}
	if ops := p.Decline(a, ip("10.0.0.11"), time.Hour); ops != nil {
		t.Errorf("a declined c's address: %+v", ops)
	}
	p.Commit(c, ip("10.0.0.11"), none, time.Hour)
	if ops := p.Decline(c, ip("10.0.0.11"), time.Hour); len(ops) != 1 || ops[0].Kind != lease.Decline {
		t.Errorf("decline ops = %+v", ops)
	}
	if got, _, err := p.Offer(c, none, none, time.Minute); err != nil || got != ip("10.0.0.10") {
		t.Errorf("after decline, c got %v, %v; want the other address", got, err)
	}
}

// TestPoolOfferTakeover fills a pool with offers that nobody requests, as
// a flood of made-up MACs does: new clients still get offers, the oldest
// first, and only bound or declined addresses exhaust the pool.
func TestPoolOfferTakeover(t *testing.T) {
	ip := netip.MustParseAddr
	mac := func(n byte) hw.MAC { return hw.MAC{2, 0, 0, 0, 0, n} }
	now := time.Unix(1e9, 0)
	p := NewPool(Range{ip("10.0.0.10"), ip("10.0.0.12")})
	p.now = func() time.Time { return now }
	offer := func(n byte) netip.Addr {
		t.Helper()
		now = now.Add(time.Second)
		got, _, err := p.Offer(mac(n), netip.Addr{}, netip.Addr{}, 30*time.Second)
		if err != nil {
			t.Fatalf("offer to client %d: %v", n, err)
		}
		return got
	}
	if got := []netip.Addr{offer(1), offer(2), offer(3)}; got[0] != ip("10.0.0.10") || got[1] != ip("10.0.0.11") || got[2] != ip("10.0.0.12") {
		t.Fatalf("first offers = %v", got)
	}
	// Full of offers: the oldest goes to the next client.
	if got := offer(4); got != ip("10.0.0.10") {
		t.Errorf("client 4 got %v, want client 1's 10.0.0.10 (the oldest offer)", got)
	}
	if got := offer(5); got != ip("10.0.0.11") {
		t.Errorf("client 5 got %v, want client 2's 10.0.0.11", got)
	}
	if _, err := p.Commit(mac(1), ip("10.0.0.10"), netip.Addr{}, time.Hour); !errors.Is(err, ErrNotYours) {
		t.Errorf("client 1 committing its taken-over offer: err = %v, want ErrNotYours", err)
	}
	if got := offer(1); got != ip("10.0.0.12") {
		t.Errorf("client 1 again got %v, want client 3's 10.0.0.12", got)
	}
	for n, a := range map[byte]string{4: "10.0.0.10", 5: "10.0.0.11"} {
		if _, err := p.Commit(mac(n), ip(a), netip.Addr{}, time.Hour); err != nil {
			t.Fatalf("client %d commit %s: %v", n, a, err)
		}
	}
	p.Commit(mac(1), ip("10.0.0.12"), netip.Addr{}, time.Hour)
	p.Decline(mac(1), ip("10.0.0.12"), time.Hour)
	// Bound and declined addresses are not taken over.
	if got, _, err := p.Offer(mac(6), netip.Addr{}, netip.Addr{}, 30*time.Second); !errors.Is(err, ErrPoolExhausted) {
		t.Errorf("client 6 got %v, %v; want ErrPoolExhausted", got, err)
	}
}

func TestPoolReservation(t *testing.T) {
	ip := netip.MustParseAddr
	a := hw.MAC{2, 0, 0, 0, 0, 1}
	b := hw.MAC{2, 0, 0, 0, 0, 2}
	p := NewPool(Range{ip("10.0.0.10"), ip("10.0.0.20")})
	// Outside the range, reserved for a.
	if got, _, _ := p.Offer(a, netip.Addr{}, ip("10.0.0.5"), time.Minute); got != ip("10.0.0.5") {
		t.Fatalf("a offered %v, want its reservation", got)
	}
	if _, err := p.Commit(a, ip("10.0.0.5"), ip("10.0.0.5"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Commit(b, ip("10.0.0.5"), netip.Addr{}, time.Hour); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("b took a's reserved address: %v", err)
	}
	// In the range and held by b: a gets another address, b keeps its own.
	p.Commit(b, ip("10.0.0.10"), netip.Addr{}, time.Hour)
	if got, _, _ := p.Offer(a, netip.Addr{}, ip("10.0.0.10"), time.Minute); got == ip("10.0.0.10") {
		t.Errorf("a's reservation was taken from b, who holds it")
	}
}

// TestPoolReservedInRange: an address reserved for one machine inside the
// dynamic range is never offered or confirmed to another, not even when
// the range is otherwise full; a client that held it from before the
// reservation loses it at its next request, and the machine gets it.
func TestPoolReservedInRange(t *testing.T) {
	ip := netip.MustParseAddr
	none := netip.Addr{}
	r := hw.MAC{2, 0, 0, 0, 0, 0x99} // the reserved machine
	a := hw.MAC{2, 0, 0, 0, 0, 1}
	b := hw.MAC{2, 0, 0, 0, 0, 2}
	c := hw.MAC{2, 0, 0, 0, 0, 3}
	reservations := map[netip.Addr]hw.MAC{}
	p := NewPool(Range{ip("10.0.0.10"), ip("10.0.0.12")})
	p.ReservedBy = func(x netip.Addr) (hw.MAC, bool) { m, ok := reservations[x]; return m, ok }

	// a holds .10 from before any reservation.
	if got, _, _ := p.Offer(a, none, none, time.Minute); got != ip("10.0.0.10") {
		t.Fatalf("a offered %v, want 10.0.0.10", got)
	}
	if _, err := p.Commit(a, ip("10.0.0.10"), none, time.Hour); err != nil {
		t.Fatal(err)
	}
	reservations[ip("10.0.0.10")] = r
	reservations[ip("10.0.0.12")] = c

	// b asks for c's reserved address and gets the one free address.
	if got, _, err := p.Offer(b, ip("10.0.0.12"), none, time.Minute); err != nil || got != ip("10.0.0.11") {
		t.Fatalf("b offered %v, %v; want 10.0.0.11", got, err)
	}
	if _, err := p.Commit(b, ip("10.0.0.12"), none, time.Hour); !errors.Is(err, ErrReserved) {
		t.Errorf("b confirming c's reserved address: err = %v, want ErrReserved", err)
	}
	p.Commit(b, ip("10.0.0.11"), none, time.Hour)
	// Full but for reserved addresses: no offer, not even a takeover.
	d := hw.MAC{2, 0, 0, 0, 0, 4}
	if got, _, err := p.Offer(d, none, none, time.Minute); !errors.Is(err, ErrPoolExhausted) {
		t.Errorf("d offered %v, %v; want ErrPoolExhausted", got, err)
	}
	// a's current address is reserved for r now: a is moved elsewhere
	// (nowhere here) rather than kept on it.
	if got, _, _ := p.Offer(a, none, none, time.Minute); got == ip("10.0.0.10") {
		t.Errorf("a offered r's reserved address %v", got)
	}
	// a renews .10: NAK, and its lease ends so that r can have it.
	ops, err := p.Commit(a, ip("10.0.0.10"), none, time.Hour)
	if !errors.Is(err, ErrReserved) || len(ops) != 1 || ops[0].Kind != lease.Release || ops[0].Addr != ip("10.0.0.10") {
		t.Fatalf("a renewing r's reserved address: ops %+v, err %v; want one deletion and ErrReserved", ops, err)
	}
	if got, _, err := p.Offer(r, none, ip("10.0.0.10"), time.Minute); err != nil || got != ip("10.0.0.10") {
		t.Fatalf("r offered %v, %v; want its reservation 10.0.0.10", got, err)
	}
	if _, err := p.Commit(r, ip("10.0.0.10"), ip("10.0.0.10"), time.Hour); err != nil {
		t.Errorf("r confirming its reservation: %v", err)
	}
	if holder, _ := p.Holder(ip("10.0.0.10")); holder.String() != r.String() {
		t.Errorf("10.0.0.10 held by %v, want %v", holder, r)
	}
}

// TestPoolConcurrent runs many clients at once through offer and commit on
// a pool smaller than the crowd, with -race, and checks that no address
// is ever bound to two clients.
func TestPoolConcurrent(t *testing.T) {
	p := NewPool(Range{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.200")})
	var mu sync.Mutex
	bound := map[netip.Addr]string{} // address -> MAC, from successful commits
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 2000 {
				mac := hw.MAC{2, 0, 0, 0, byte(r.IntN(2)), byte(r.IntN(250))}
				addr, _, err := p.Offer(mac, netip.Addr{}, netip.Addr{}, time.Minute)
				if err != nil {
					continue
				}
				if r.IntN(10) == 0 {
					addr = netip.MustParseAddr(fmt.Sprintf("10.0.0.%d", 1+r.IntN(200))) // a greedy client
				}
				if _, err := p.Commit(mac, addr, netip.Addr{}, time.Hour); err != nil {
					continue
				}
				mu.Lock()
				// The address's previous holder must have let it go.
				if other, ok := bound[addr]; ok && other != mac.String() {
					om, _ := hw.ParseMAC(other)
					if still, ok := p.Lookup(om); ok && still == addr {
						t.Errorf("%s bound to %s while %s still holds it", addr, mac, other)
					}
				}
				bound[addr] = mac.String()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	seen := map[string]netip.Addr{}
	for a, mac := range bound {
		if holder, ok := p.Holder(a); !ok || holder.String() != mac {
			continue // moved on: the client took another address
		}
		if prev, dup := seen[mac]; dup {
			t.Errorf("%s holds %s and %s", mac, prev, a)
		}
		seen[mac] = a
	}
}

// TestPoolCollided: another replica handed out 10.0.0.10-10.0.0.29 (a
// block this pool has not learned); after the store names the holder of
// the first one, the next offer is far from that block, not the next
// address in it.
func TestPoolCollided(t *testing.T) {
	ip := netip.MustParseAddr
	p := NewPool(Range{ip("10.0.0.10"), ip("10.0.0.109")})
	peer := hw.MAC{2, 0, 0, 0, 0, 1}
	p.Learn(lease.Lease{Addr: ip("10.0.0.10"), MAC: peer, State: lease.Bound, Expiry: time.Now().Add(time.Hour)})
	p.Collided(ip("10.0.0.10"))
	got, _, err := p.Offer(hw.MAC{2, 0, 0, 0, 0, 2}, netip.Addr{}, netip.Addr{}, time.Minute)
	if err != nil || got != ip("10.0.0.71") {
		t.Errorf("offer after a collision at 10.0.0.10 = %v, %v; want 10.0.0.71, 61 (0.618 of 100) further", got, err)
	}
	p.Collided(ip("10.0.0.200")) // outside the range: no change
	if got, _, _ := p.Offer(hw.MAC{2, 0, 0, 0, 0, 3}, netip.Addr{}, netip.Addr{}, time.Minute); got != ip("10.0.0.72") {
		t.Errorf("next offer = %v, want 10.0.0.72", got)
	}
}
