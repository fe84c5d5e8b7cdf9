package statetest

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/state"
)

// testReplicas runs two Stores over one shared database, as two replicas
// do: one key, one timeline, and what one writes (an install callback, a
// binding, an address) the other sees at once.
func testReplicas(t *testing.T, b Backend) {
	a, be := b.open(t)
	p := store(t, b.Peer(t, be))
	if string(a.Secret()) != string(p.Secret()) {
		t.Fatal("replicas have different token keys")
	}
	if a.Replica() == "" || a.Replica() == p.Replica() {
		t.Fatalf("replica names %q and %q", a.Replica(), p.Replica())
	}
	ip := netip.MustParseAddr("10.0.0.20")
	now := a.Now().Add(-2 * time.Second)
	a.Record(state.Event{Time: now, MAC: mac1, Kind: state.KindDHCP, Outcome: state.OK, IP: ip, Known: true,
		Bind: &state.Binding{Addr: ip, Since: now, Until: now.Add(time.Hour), Source: state.BoundByLease}})
	a.Record(state.Event{Time: now.Add(time.Second), MAC: mac1, Kind: state.KindMenu, Outcome: state.OK, IP: ip, Known: true})
	Flush(t, p, mac1, 2)
	if bd, ok := p.Binding(mac1, now); !ok || bd.Addr != ip {
		t.Errorf("the other replica sees binding %v, %v; want %s", bd, ok, ip)
	}
	if mac, ok := p.MACFor(ip); !ok || mac != mac1 {
		t.Errorf("the other replica's MACFor(%s) = %s, %v", ip, mac, ok)
	}
	if st := p.StateOf(mac1); st != state.Assigned {
		t.Errorf("the other replica's StateOf = %q, want assigned", st)
	}
	// The installer calls back to the other replica: the first sees it
	// for the next boot, and the boot's tokens are revoked on both.
	m, err := p.Installed(mac1, ip, true)
	if err != nil {
		t.Fatal(err)
	}
	if st := a.StateOf(mac1); st != state.Installed {
		t.Errorf("after a callback to the other replica, StateOf = %q, want installed", st)
	}
	if rb := a.RevokedBefore(mac1); !rb.Equal(m.RevokedBefore) {
		t.Errorf("RevokedBefore = %v on the first replica, %v on the other", rb, m.RevokedBefore)
	}
	// A second later: the replicas' clocks agree to within a heartbeat's
	// round trip to the database, which on a loaded host is more than the
	// time between these two calls.
	a.Record(state.Event{Time: a.Now().Add(time.Second), MAC: mac1, Kind: state.KindMenu, Outcome: state.OK, IP: ip, Known: true, Detail: "second boot"})
	ev := Flush(t, p, mac1, 4)
	var who []string
	for _, e := range ev {
		who = append(who, e.Replica)
	}
	if want := []string{a.Replica(), a.Replica(), p.Replica(), a.Replica()}; !equal(who, want) {
		t.Errorf("timeline's replicas %v, want %v", who, want)
	}
	rs, err := a.Replicas()
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 2 {
		t.Errorf("Replicas = %+v, want both", rs)
	}
	// The clocks agree: the shared clock, not each host's.
	if d := a.Now().Sub(p.Now()); d > time.Second || d < -time.Second {
		t.Errorf("replica clocks differ by %v", d)
	}
}

// testReplicasOneMachine has both replicas record events of the same new
// machines at once: none is lost, and each machine is made once.
func testReplicasOneMachine(t *testing.T, b Backend) {
	a, be := b.open(t)
	p := store(t, b.Peer(t, be))
	const machines, each = 10, 20
	t0 := a.Now()
	var wg sync.WaitGroup
	for r, s := range []*state.Store{a, p} {
		wg.Go(func() {
			for i := range each {
				for m := range machines {
					s.Record(state.Event{Time: t0.Add(time.Duration(i*2+r) * time.Second), MAC: MACN(100 + m),
						Kind: state.KindMenu, Outcome: state.OK, Known: true, Detail: "boot"})
				}
			}
		})
	}
	wg.Wait()
	for m := range machines {
		ev := Flush(t, a, MACN(100+m), 2*each)
		if len(ev) != 2*each {
			t.Errorf("machine %d: %d events, want %d", m, len(ev), 2*each)
		}
		mm, err := a.Machine(MACN(100 + m))
		if err != nil || !mm.FirstSeen.Equal(t0) || !mm.LastSeen.Equal(t0.Add(time.Duration(2*each-1)*time.Second)) {
			t.Errorf("machine %d: %+v, %v", m, mm, err)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
