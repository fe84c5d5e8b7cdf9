package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/lease"
	"github.com/bootwright/bootwright/internal/pgstore"
	"github.com/bootwright/bootwright/internal/state"
)

// runState implements `bootwright state migrate --from SRC --to DST`:
// copy a stopped server's state (machines, events, bindings, the token
// key and the live leases) between a state directory (bbolt) and a
// PostgreSQL database, either way, printing what it copied.
func runState(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("state", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "where the state is: a --state-dir directory or a postgres:// URL")
	to := fs.String("to", "", "where to copy it: a directory or a postgres:// URL, holding no machines and no leases")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bootwright state migrate --from DIR|postgres://... --to DIR|postgres://...")
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] != "migrate" {
		fs.Usage()
		return 2
	}
	if err := parseWithEnv(fs, args[1:], getenv); err != nil {
		return usageError(stderr, "state migrate", err)
	}
	if *from == "" || *to == "" {
		fs.Usage()
		return 2
	}
	src, err := openStateAt(*from, false)
	if err != nil {
		fmt.Fprintln(stderr, "bootwright state migrate: --from:", err)
		return 1
	}
	defer src.close()
	dst, err := openStateAt(*to, true)
	if err != nil {
		fmt.Fprintln(stderr, "bootwright state migrate: --to:", err)
		return 1
	}
	defer dst.close()
	c, err := state.Copy(dst.state, src.state)
	if err != nil {
		fmt.Fprintln(stderr, "bootwright state migrate:", err)
		return 1
	}
	n, err := copyLeases(dst.leases, src.leases.Leases())
	if err != nil {
		fmt.Fprintln(stderr, "bootwright state migrate: leases:", err)
		return 1
	}
	fmt.Fprintf(stdout, "copied %v, %d leases from %s to %s\n", c, n, src.name, dst.name)
	return 0
}

// stateAt is a state store and its leases, opened by a command.
type stateAt struct {
	name   string
	state  state.Backend
	leases lease.Store
	close  func()
}

// openStateAt opens where (a directory or a postgres:// URL). A source
// directory must hold a state.db; a destination must hold no leases, and
// a database no live replica.
func openStateAt(where string, dest bool) (*stateAt, error) {
	if strings.HasPrefix(where, "postgres://") || strings.HasPrefix(where, "postgresql://") {
		return openDBAt(where, dest)
	}
	path := filepath.Join(where, state.FileName)
	if _, err := os.Stat(path); !dest && err != nil {
		return nil, fmt.Errorf("no state here: %w", err)
	}
	b, err := state.OpenBolt(path)
	if err != nil {
		return nil, err
	}
	var ls lease.Store = emptyLeases{}
	if lp := filepath.Join(where, dhcpboot.LeaseFileName); dest || exists(lp) {
		ldb, err := dhcpboot.OpenLeaseDB(lp)
		if err != nil {
			b.Close()
			return nil, err
		}
		ls = ldb
	}
	s := &stateAt{name: where, state: b, leases: ls, close: func() { ls.Close(); b.Close() }}
	if dest && len(liveLeases(ls.Leases())) > 0 {
		s.close()
		return nil, fmt.Errorf("%s holds leases already: copy only into an empty store", where)
	}
	return s, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func openDBAt(url string, dest bool) (*stateAt, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := pgstore.Open(ctx, pgstore.Config{URL: url, Tool: true})
	if err != nil {
		return nil, err
	}
	rs, err := db.Replicas()
	for _, r := range rs {
		if r.Live && err == nil {
			err = fmt.Errorf("replica %s (%s) is running on this database: stop every replica first", r.ID, r.Address)
		}
	}
	var ls *pgstore.LeaseStore
	if err == nil {
		ls, err = db.Leases()
	}
	if err == nil && dest && len(liveLeases(ls.Leases())) > 0 {
		ls.Close()
		err = errors.New("the database holds leases already: copy only into an empty store")
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return &stateAt{name: pgstore.Redact(url), state: db.State(), leases: ls, close: func() { ls.Close(); db.Close() }}, nil
}

// liveLeases are the bound and declined leases that have not ended.
func liveLeases(ls []lease.Lease) []lease.Lease {
	var out []lease.Lease
	now := time.Now()
	for _, l := range ls {
		if l.Live(now) && l.State != lease.Offered {
			out = append(out, l)
		}
	}
	return out
}

// copyLeases grants every live lease of from again in dst, each with its
// own expiry (a declined one is granted, then declined), all queued at
// once so that the store commits them in batches.
func copyLeases(dst lease.Store, from []lease.Lease) (int, error) {
	ls := liveLeases(from)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, l := range ls {
		ops := []lease.Op{{Kind: lease.Bind, Addr: l.Addr, MAC: l.MAC, Expiry: l.Expiry}}
		if l.State == lease.Declined {
			ops = append(ops, lease.Op{Kind: lease.Decline, Addr: l.Addr, MAC: l.MAC, Expiry: l.Expiry})
		}
		wg.Add(1)
		dst.Commit(ops, func(err error) {
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", l.Addr, err))
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	return len(ls) - len(errs), errors.Join(errs...)
}

// emptyLeases is the leases of a state directory that has no leases.db.
type emptyLeases struct{}

func (emptyLeases) Leases() []lease.Lease                 { return nil }
func (emptyLeases) Commit(_ []lease.Op, then func(error)) { then(errors.New("no lease database")) }
func (emptyLeases) Down() error                           { return nil }
func (emptyLeases) Close() error                          { return nil }
