package pgstore

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bootwright/bootwright/internal/pgtest"
	"github.com/bootwright/bootwright/internal/state"
)

// TestMigrateBindingFamilies: a database made by the first schema, with a
// binding in it, migrates to a binding per family; the old binding loads
// as the machine's IPv4 one and an IPv6 one is kept beside it.
func TestMigrateBindingFamilies(t *testing.T) {
	url := pgtest.NewDB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a4 := netip.MustParseAddr("10.0.0.40")
	old := state.Binding{Addr: a4, Since: now, Until: now.Add(time.Hour), Source: state.BoundByLease}
	for _, sql := range []string{
		`CREATE TABLE schema_migrations (version int PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`,
		migrations[0],
		`INSERT INTO schema_migrations (version) VALUES (1)`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	_, err = conn.Exec(ctx, `INSERT INTO bindings (mac, addr, since, until, data) VALUES ('52:54:00:00:00:40', $1, $2, $3, $4)`,
		a4, old.Since, old.Until, jsonArg(old))
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := state.New(open(t, url, "migrated").State())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mac := toMAC([]byte{0x52, 0x54, 0, 0, 0, 0x40})
	if got, ok := s.BindingFor(mac, a4, now); !ok || got.Addr != a4 {
		t.Fatalf("after migration BindingFor(%s) = %v %v, want the old binding", a4, got.Addr, ok)
	}
	a6 := netip.MustParseAddr("fd42::140")
	s.Bind(mac, state.Binding{Addr: a6, Since: now, Until: now.Add(time.Hour), Source: state.BoundByLease})
	s.Record(state.Event{MAC: mac, Kind: state.KindMenu, Outcome: state.OK, IP: a6})
	s.Close()
	s, err = state.New(open(t, url, "again").State())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, want := range []netip.Addr{a4, a6} {
		if got, ok := s.BindingFor(mac, want, now); !ok || got.Addr != want {
			t.Errorf("BindingFor(%s) = %v %v after an IPv6 binding was added", want, got.Addr, ok)
		}
	}
	if m, ok := s.MACFor(a6); !ok || m != mac {
		t.Errorf("MACFor(%s) = %v %v, want %s by its last IPv6 address", a6, m, ok, mac)
	}
}
