package pgstore

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/lease"
	"github.com/bootwright/bootwright/internal/lease/leasetest"
	"github.com/bootwright/bootwright/internal/pgtest"
	"github.com/bootwright/bootwright/internal/state"
)

func fast(url, id string) Config {
	return Config{URL: url, ID: id, Address: id, DHCP: true, Heartbeat: 100 * time.Millisecond, DeadAfter: 300 * time.Millisecond}
}

func openCfg(t *testing.T, cfg Config) *DB {
	t.Helper()
	db, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestOwnersSplitAndTakeOver: two live replicas agree on one owner for
// every MAC and split them about evenly; when one stops, the other owns
// all within DeadAfter + Heartbeat; when it comes back, its share returns.
func TestOwnersSplitAndTakeOver(t *testing.T) {
	url := pgtest.NewDB(t)
	a, b := openCfg(t, fast(url, "a")), openCfg(t, fast(url, "b"))
	waitFor(t, time.Second, func() bool { return len(*a.live.Load()) == 2 && len(*b.live.Load()) == 2 })
	const n = 2000
	mine := 0
	for i := range n {
		mac := hw.MAC{2, 0, 0, 0, byte(i >> 8), byte(i)}
		if a.Owner(mac) == b.Owner(mac) {
			t.Fatalf("%s: both replicas or neither own it", mac)
		}
		if a.Owner(mac) {
			mine++
		}
	}
	if mine < n*4/10 || mine > n*6/10 {
		t.Errorf("replica a owns %d of %d MACs, want about half", mine, n)
	}
	// b stops without a word (its heartbeat ends, as in a kill -9).
	close(b.stop)
	<-b.done
	start := time.Now()
	waitFor(t, 2*time.Second, func() bool { return len(*a.live.Load()) == 1 })
	if took := time.Since(start); took > a.cfg.DeadAfter+2*a.cfg.Heartbeat {
		t.Errorf("takeover took %v, bound %v", took, a.cfg.DeadAfter+a.cfg.Heartbeat)
	}
	// It restarts with its ID: it waits until its old heartbeat is dead
	// (here it already is) and takes its share back.
	b.closed = true
	b.pool.Close()
	b2 := openCfg(t, fast(url, "b"))
	waitFor(t, time.Second, func() bool { return len(*a.live.Load()) == 2 && len(*b2.live.Load()) == 2 })
	rs, err := a.Replicas()
	if err != nil || len(rs) != 2 || !rs[0].Live || !rs[1].Live {
		t.Errorf("Replicas = %+v, %v", rs, err)
	}
}

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v", d)
		}
	}
}

// TestOutage stops PostgreSQL under a replica: Down says so at the next
// heartbeat, claims are refused as unavailable, events wait in the queue;
// when the server is back, with no restart of the replica, Down clears,
// the events are written and claims are made again.
func TestOutage(t *testing.T) {
	pgtest.Get(t) // skips without PostgreSQL
	c, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if err := c.Exec("CREATE DATABASE outage"); err != nil {
		t.Fatal(err)
	}
	db := openCfg(t, fast(c.URL("outage"), "a"))
	st, err := state.New(db.State())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ls, err := db.Leases()
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	mac := hw.MAC{2, 0, 0, 0, 0, 9}
	c.Halt()
	waitFor(t, 5*time.Second, func() bool { return db.Down() != nil })
	if err := st.Health(); err == nil {
		t.Error("Health is fine while the database is down")
	}
	for i := range 50 {
		st.Record(state.Event{MAC: mac, Kind: state.KindMenu, Outcome: state.OK, Detail: string(rune('a'+i%26)) + "x"})
	}
	bind := lease.Op{Kind: lease.Bind, Addr: netip.MustParseAddr("10.9.0.1"), MAC: mac, Expiry: time.Now().Add(time.Hour)}
	if err := leasetest.Commit(t, ls, bind); !errors.Is(err, lease.ErrUnavailable) {
		t.Errorf("claim while down: %v, want unavailable", err)
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return db.Down() == nil })
	waitFor(t, 10*time.Second, func() bool { ev, _ := st.Events(mac, 0); return len(ev) == 50 })
	if err := leasetest.Commit(t, ls, bind); err != nil {
		t.Errorf("claim after the outage: %v", err)
	}
	waitFor(t, 5*time.Second, func() bool { return st.Health() == nil })
}
