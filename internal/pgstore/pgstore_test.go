package pgstore

import (
	"context"
	"os"
	"testing"

	"github.com/bootwright/bootwright/internal/lease"
	"github.com/bootwright/bootwright/internal/lease/leasetest"
	"github.com/bootwright/bootwright/internal/pgtest"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/internal/state/statetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// open opens the database at url as replica id, closed at the end of t.
func open(t *testing.T, url, id string) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{URL: url, ID: id, Address: id, Version: "test", DHCP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestStateContract runs the backend contract (shared with bbolt) against
// a real PostgreSQL, and the replica tests with two replicas on it.
func TestStateContract(t *testing.T) {
	statetest.Run(t, statetest.Backend{
		Open: func(t *testing.T) state.Backend { return open(t, pgtest.NewDB(t), "replica-a").State() },
		Reopen: func(t *testing.T, b state.Backend) state.Backend {
			db := b.(stateBackend).db
			db.Close()
			return open(t, db.cfg.URL, db.cfg.ID).State()
		},
		Peer: func(t *testing.T, b state.Backend) state.Backend {
			return open(t, b.(stateBackend).db.cfg.URL, "replica-b").State()
		},
	})
}

// TestLeaseContract runs the lease store contract (shared with bbolt)
// against a real PostgreSQL, with two replicas racing for addresses.
func TestLeaseContract(t *testing.T) {
	leases := func(t *testing.T, url, id string) lease.Store {
		s, err := open(t, url, id).Leases()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	leasetest.Run(t, leasetest.Backend{
		Open: func(t *testing.T) lease.Store { return leases(t, pgtest.NewDB(t), "replica-a") },
		Reopen: func(t *testing.T, s lease.Store) lease.Store {
			db := s.(*LeaseStore).db
			s.Close()
			db.Close()
			return leases(t, db.cfg.URL, db.cfg.ID)
		},
		Peer: func(t *testing.T, s lease.Store) lease.Store {
			return leases(t, s.(*LeaseStore).db.cfg.URL, "replica-b")
		},
	})
}
