package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/metrics"
	"github.com/bootwright/bootwright/internal/pgstore"
	"github.com/bootwright/bootwright/internal/secrets"
	"github.com/bootwright/bootwright/internal/state"
)

// stateFlags configure machine state and the API.
type stateFlags struct {
	apiToken    string
	eventMaxAge string
	secretsDir  string
	tokenTTL    time.Duration
	db          string
	replicaID   string
}

func (f *stateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.secretsDir, "secrets-dir", "", "directory of secrets for templates ({{ .Secret \"name\" }}), kept out of the config tree")
	fs.StringVar(&f.apiToken, "api-token", "", "bearer token for API write calls such as reinstall (empty: write calls refused)")
	fs.StringVar(&f.eventMaxAge, "event-max-age", "720h", "how long boot events are kept (also at most 1000 per machine)")
	fs.DurationVar(&f.tokenTTL, "file-token-ttl", boot.DefaultTokenTTL, "how long a boot's answer-file and callback tokens stay valid (at least 10s)")
	fs.StringVar(&f.db, "state-db", "", "postgres://USER@HOST/DB: keep leases, machine state and events in PostgreSQL, shared by replicas (default: bbolt files in --state-dir); pass the password in BOOTWRIGHT_STATE_DB or a passfile, not on the command line")
	fs.StringVar(&f.replicaID, "replica-id", "", "this replica's name among those sharing --state-db; keep it stable (default: --address)")
}

// sharedConfig checks --state-db and --replica-id: a postgres:// URL that
// parses, and a name (the address by default).
func (f *stateFlags) sharedConfig(self string) (db, id string, err error) {
	if f.db == "" {
		if f.replicaID != "" {
			return "", "", errors.New("--replica-id needs --state-db")
		}
		return "", "", nil
	}
	if !strings.HasPrefix(f.db, "postgres://") && !strings.HasPrefix(f.db, "postgresql://") {
		return "", "", fmt.Errorf("--state-db %s: want a postgres:// URL", pgstore.Redact(f.db))
	}
	if err := pgstore.Check(f.db); err != nil {
		return "", "", fmt.Errorf("--state-db: %w", err)
	}
	id = cmp.Or(f.replicaID, self)
	if len(id) > 200 || strings.ContainsFunc(id, unicode.IsControl) {
		return "", "", fmt.Errorf("--replica-id %q: want a short printable name", id)
	}
	return f.db, id, nil
}

// stateServer runs the store's pruning and closes the store (flushing
// queued events) when it is shut down, after the servers that feed it.
type stateServer struct {
	st   *state.Store
	db   *pgstore.DB // with --state-db; nil for bbolt
	log  *slog.Logger
	stop chan struct{}
}

// openState opens <state-dir>/state.db; a damaged or locked file stops
// start-up with its path.
//
// A state directory that cannot be written (read-only, missing and not
// creatable, a full disk) does not stop boots: the store moves to a
// temporary directory, the error is logged, and /healthz says degraded.
func openState(c *config, log *slog.Logger, m *metrics.Metrics, live *bootconfig.Live) (*stateServer, error) {
	if c.stateDB != "" {
		return openShared(c, log, m, live)
	}
	st, err := state.Open(filepath.Join(c.stateDir, state.FileName))
	if errors.Is(err, state.ErrInUse) || errors.Is(err, state.ErrDamaged) {
		return nil, err
	}
	if err != nil {
		tmp, terr := os.MkdirTemp("", "bootwright-state-")
		if terr != nil {
			return nil, errors.Join(err, terr)
		}
		if st, terr = state.Open(filepath.Join(tmp, state.FileName)); terr != nil {
			return nil, errors.Join(err, terr)
		}
		why := fmt.Sprintf("state store: %v; machine state and events are kept in %s until a restart", err, tmp)
		st.SetDegraded(why)
		log.Error("state directory unusable; boots go on", "err", err, "temporary", tmp)
	}
	st.Logger, st.MaxAge, st.Observe = log, c.eventMaxAge, m.ObserveEvent
	return &stateServer{st: st, log: log, stop: make(chan struct{})}, nil
}

func (s *stateServer) run() error {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return nil // shut down before the first prune (a failed start-up)
		default:
		}
		if n, err := s.st.Prune(time.Now()); err != nil {
			s.log.Warn("state store: prune failed", "err", err)
		} else if n > 0 {
			s.log.Debug("state store: pruned events", "events", n)
		}
		select {
		case <-s.stop:
			return nil
		case <-t.C:
		}
	}
}

// openShared opens the state in PostgreSQL (--state-db) as replica
// c.replicaID; an unreachable server, wrong credentials or a newer schema
// stop start-up with one line.
func openShared(c *config, log *slog.Logger, m *metrics.Metrics, live *bootconfig.Live) (*stateServer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := pgstore.Open(ctx, pgstore.Config{URL: c.stateDB, ID: c.replicaID, Address: c.self.Addr().String(),
		Version: versionString(), Commit: func() string { return live.Status().Commit },
		DHCP: !c.dhcp.off && c.dhcp.mode == dhcpboot.ModeFull, Logger: log})
	if err != nil {
		return nil, err
	}
	st, err := state.New(db.State())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state database: %w", err)
	}
	st.Logger, st.MaxAge, st.Observe = log, c.eventMaxAge, m.ObserveEvent
	m.AddGauge("bootwright_state_db_up", "1 while the shared state database (--state-db) can be reached, else 0.", func() float64 {
		if db.Down() != nil {
			return 0
		}
		return 1
	})
	m.AddGauge("bootwright_state_db_clock_offset_seconds", "The state database's clock minus this host's, at the last heartbeat.",
		func() float64 { return db.ClockOffset().Seconds() })
	log.Info("state in PostgreSQL", "db", pgstore.Redact(c.stateDB), "replica", c.replicaID,
		"clock_offset", db.ClockOffset().Round(time.Millisecond).String())
	return &stateServer{st: st, db: db, log: log, stop: make(chan struct{})}, nil
}

func (s *stateServer) shutdown(context.Context) error {
	close(s.stop)
	err := s.st.Close()
	if s.db != nil {
		err = errors.Join(err, s.db.Close())
	}
	return err
}

// secretsFunc returns the Secret function for templates: the secrets in
// dir, or placeholders when there is no dir (a CI check without secrets).
func secretsFunc(dir string) func(machine, name string) (string, error) {
	if dir == "" {
		return nil
	}
	return secrets.Dir{Path: dir}.Get
}

// parseEventMaxAge checks --event-max-age.
func parseEventMaxAge(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute {
		return 0, errors.New("--event-max-age " + v + ": want a duration of at least 1m, e.g. 720h")
	}
	return d, nil
}

// sharedDHCP gives a full-mode server the leases of the replicas sharing
// db: claims decided by the database, the database's clock, this
// replica's share of the clients, and the others' leases as they write
// them.
func sharedDHCP(s *dhcpboot.Server, db *pgstore.DB) (*dhcpboot.Server, func(context.Context) error, error) {
	ls, err := db.Leases()
	if err != nil {
		return nil, nil, err
	}
	s.Leases, s.Owner, s.Now = ls, db.Owner, db.Now
	for i := range s.Subnets {
		s.Pool(i).StartAt(db.Spread())
	}
	ls.Watch(s.Learn)
	stop := func(ctx context.Context) error {
		return errors.Join(s.Shutdown(ctx), ls.Close())
	}
	return s, stop, nil
}
