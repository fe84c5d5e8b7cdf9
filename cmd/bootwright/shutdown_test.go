package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer records when its shutdown started and ended; it drains for
// drain, or until its context ends, whichever is first.
type fakeServer struct {
	name  string
	drain time.Duration
	err   error // returned when drained in time

	mu         sync.Mutex
	started    time.Time
	ended      time.Time
	hadTimeout bool
}

func (f *fakeServer) server(log *[]string, mu *sync.Mutex) server {
	return server{name: f.name, shutdown: func(ctx context.Context) error {
		f.mu.Lock()
		f.started = time.Now()
		_, f.hadTimeout = ctx.Deadline()
		f.mu.Unlock()
		mu.Lock()
		*log = append(*log, f.name)
		mu.Unlock()
		var err error
		select {
		case <-time.After(f.drain):
			err = f.err
		case <-ctx.Done():
			err = ctx.Err()
		}
		f.mu.Lock()
		f.ended = time.Now()
		f.mu.Unlock()
		return err
	}}
}

func TestStopServers(t *testing.T) {
	var mu sync.Mutex
	var order []string
	httpS := &fakeServer{name: "http", drain: 300 * time.Millisecond}
	tftpS := &fakeServer{name: "tftp", drain: 300 * time.Millisecond}
	dhcpS := &fakeServer{name: "dhcp"}
	stateS := &fakeServer{name: "state"}
	servers := []server{httpS.server(&order, &mu), tftpS.server(&order, &mu), dhcpS.server(&order, &mu), stateS.server(&order, &mu)}
	t0 := time.Now()
	if err := stopServers(servers, 5*time.Second, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	// Everyone stops accepting at once: TFTP does not wait for HTTP to drain.
	if d := tftpS.started.Sub(t0); d > 100*time.Millisecond {
		t.Errorf("tftp shutdown began %v after the call, want at once", d)
	}
	if d := time.Since(t0); d > 550*time.Millisecond {
		t.Errorf("two 300 ms drains took %v, want them side by side", d)
	}
	if order[len(order)-1] != "state" || stateS.started.Before(httpS.ended) || stateS.started.Before(tftpS.ended) {
		t.Errorf("state stopped before the others were done (order %v)", order)
	}
	if stateS.hadTimeout {
		t.Error("the state store's shutdown had a deadline; closing it must not be cut short")
	}
}

func TestStopServersCutIsClean(t *testing.T) {
	var mu sync.Mutex
	var order []string
	slow := &fakeServer{name: "http", drain: time.Hour}
	broken := &fakeServer{name: "dhcp", err: errors.New("boom")}
	state := &fakeServer{name: "state"}
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	t0 := time.Now()
	err := stopServers([]server{slow.server(&order, &mu), broken.server(&order, &mu), state.server(&order, &mu)}, 200*time.Millisecond, log)
	if d := time.Since(t0); d > time.Second {
		t.Errorf("took %v with a 200 ms grace", d)
	}
	if err == nil || err.Error() != "dhcp shutdown: boom" {
		t.Errorf("err = %v, want only dhcp's own failure (a cut at the grace is not one)", err)
	}
	if !strings.Contains(logged.String(), "transfers still in flight were cut") || !strings.Contains(logged.String(), "server=http") {
		t.Errorf("the cut is not logged: %q", logged.String())
	}
	if !slices.Contains(order, "state") {
		t.Error("state store not closed after a cut")
	}
}
