package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/metrics"
	"github.com/bootwright/bootwright/internal/secrets"
	"github.com/bootwright/bootwright/internal/state"
)

// stateFlags configure machine state and the API.
type stateFlags struct {
	apiToken    string
	eventMaxAge string
	secretsDir  string
	tokenTTL    time.Duration
}

func (f *stateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.secretsDir, "secrets-dir", "", "directory of secrets for templates ({{ .Secret \"name\" }}), kept out of the config tree")
	fs.StringVar(&f.apiToken, "api-token", "", "bearer token for API write calls such as reinstall (empty: write calls refused)")
	fs.StringVar(&f.eventMaxAge, "event-max-age", "720h", "how long boot events are kept (also at most 1000 per machine)")
	fs.DurationVar(&f.tokenTTL, "file-token-ttl", boot.DefaultTokenTTL, "how long a boot's answer-file and callback tokens stay valid (at least 10s)")
}

// stateServer runs the store's pruning and closes the store (flushing
// queued events) when it is shut down, after the servers that feed it.
type stateServer struct {
	st   *state.Store
	log  *slog.Logger
	stop chan struct{}
}

// openState opens <state-dir>/state.db; a damaged or locked file stops
// start-up with its path.
//
// A state directory that cannot be written (read-only, missing and not
// creatable, a full disk) does not stop boots: the store moves to a
// temporary directory, the error is logged, and /healthz says degraded.
func openState(c *config, log *slog.Logger, m *metrics.Metrics) (*stateServer, error) {
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

func (s *stateServer) shutdown(context.Context) error {
	close(s.stop)
	return s.st.Close()
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
