package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/lease"
	"github.com/bootwright/bootwright/internal/lease/leasetest"
	"github.com/bootwright/bootwright/internal/pgtest"
	"github.com/bootwright/bootwright/internal/state"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestStateMigrate moves a state directory into PostgreSQL and back with
// `bootwright state migrate`: the same machines, events, token key and
// leases arrive, the counts are printed, and a second copy into a store
// that is not empty is refused.
func TestStateMigrate(t *testing.T) {
	url := pgtest.NewDB(t)
	src, back := t.TempDir(), t.TempDir()
	st, err := state.Open(filepath.Join(src, state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	mac := hw.MAC{2, 0, 0, 0, 0, 7}
	if _, err := st.Installed(mac, netip.MustParseAddr("10.0.0.7"), true); err != nil {
		t.Fatal(err)
	}
	secret := string(st.Secret())
	st.Close()
	ldb, err := dhcpboot.OpenLeaseDB(filepath.Join(src, dhcpboot.LeaseFileName))
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	for i := range 3 {
		a := netip.AddrFrom4([4]byte{10, 0, 0, byte(10 + i)})
		if err := leasetest.Commit(t, ldb, lease.Op{Kind: lease.Bind, Addr: a, MAC: hw.MAC{2, 0, 0, 0, 1, byte(i)}, Expiry: exp}); err != nil {
			t.Fatal(err)
		}
	}
	ldb.Close()

	migrate := func(from, to string) (int, string) {
		var out bytes.Buffer
		code := run(context.Background(), []string{"state", "migrate", "--from", from, "--to", to}, func(string) string { return "" }, &out, &out)
		return code, out.String()
	}
	if code, out := migrate(src, url); code != 0 || !strings.Contains(out, "copied 1 machines, 1 events, 0 bindings, token key copied, 3 leases") {
		t.Fatalf("into PostgreSQL: %d %s", code, out)
	}
	if code, out := migrate(src, url); code != 1 || !strings.Contains(out, "holds leases already") {
		t.Errorf("a second copy: %d %s", code, out)
	}
	if code, out := migrate(url, back); code != 0 || !strings.Contains(out, "3 leases") {
		t.Fatalf("back out: %d %s", code, out)
	}
	st, err = state.Open(filepath.Join(back, state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if m, err := st.Machine(mac); err != nil || m.State != state.Installed || string(st.Secret()) != secret {
		t.Errorf("after the round trip: %+v, %v, same key %v", m, err, string(st.Secret()) == secret)
	}
	ldb, err = dhcpboot.OpenLeaseDB(filepath.Join(back, dhcpboot.LeaseFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer ldb.Close()
	if n := len(ldb.Leases()); n != 3 {
		t.Errorf("%d leases after the round trip, want 3", n)
	}
	if code, out := migrate(filepath.Join(back, "nothing"), url); code != 1 || !strings.Contains(out, "no state here") {
		t.Errorf("from an empty directory: %d %s", code, out)
	}
}
