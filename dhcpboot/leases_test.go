package dhcpboot

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	good, err := ParseRange("10.0.0.10 - 10.0.0.20")
	if err != nil || good.String() != "10.0.0.10-10.0.0.20" {
		t.Fatalf("ParseRange = %v, %v", good, err)
	}
	for _, bad := range []string{"", "10.0.0.1", "10.0.0.20-10.0.0.10", "fe80::1-fe80::2", "a-b"} {
		if _, err := ParseRange(bad); err == nil {
			t.Errorf("ParseRange(%q) accepted", bad)
		}
	}
}

func TestPool(t *testing.T) {
	a := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	b := net.HardwareAddr{2, 0, 0, 0, 0, 2}
	c := net.HardwareAddr{2, 0, 0, 0, 0, 3}
	ip := netip.MustParseAddr
	now := time.Unix(1e9, 0)
	p := NewPool(Range{ip("10.0.0.10"), ip("10.0.0.11")})
	p.now = func() time.Time { return now }

	got, err := p.Offer(a, netip.Addr{}, time.Minute)
	if err != nil || got != ip("10.0.0.10") {
		t.Fatalf("first offer = %v, %v", got, err)
	}
	if again, _ := p.Offer(a, ip("10.0.0.11"), time.Minute); again != got {
		t.Errorf("a client keeps its offer: got %v, want %v", again, got)
	}
	if got, _ := p.Offer(b, ip("10.0.0.10"), time.Minute); got != ip("10.0.0.11") {
		t.Errorf("b asked for a's address and got %v, want 10.0.0.11", got)
	}
	if _, err := p.Offer(c, netip.Addr{}, time.Minute); !errors.Is(err, ErrPoolExhausted) {
		t.Errorf("third client: err = %v, want ErrPoolExhausted", err)
	}
	if err := p.Commit(b, ip("10.0.0.10"), time.Hour); !errors.Is(err, ErrNotYours) {
		t.Errorf("b committing a's address: err = %v, want ErrNotYours", err)
	}
	if err := p.Commit(a, ip("10.0.0.99"), time.Hour); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("out of range commit: err = %v", err)
	}
	if err := p.Commit(a, ip("10.0.0.10"), time.Hour); err != nil {
		t.Fatal(err)
	}
	// b's offer expires; c can then take its address.
	now = now.Add(2 * time.Minute)
	if got, err := p.Offer(c, netip.Addr{}, time.Minute); err != nil || got != ip("10.0.0.11") {
		t.Errorf("after expiry, c got %v, %v; want 10.0.0.11", got, err)
	}
	if got, ok := p.Lookup(a); !ok || got != ip("10.0.0.10") {
		t.Errorf("Lookup(a) = %v, %v", got, ok)
	}
	p.Release(a, ip("10.0.0.10"))
	if _, ok := p.Lookup(a); ok {
		t.Error("released lease still found")
	}
	p.Decline(c, ip("10.0.0.11"), time.Hour)
	if got, err := p.Offer(c, netip.Addr{}, time.Minute); err != nil || got != ip("10.0.0.10") {
		t.Errorf("after decline, c got %v, %v; want the other address", got, err)
	}
}
