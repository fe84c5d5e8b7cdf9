package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// stopServers shuts servers down on exit. All but the last stop at once:
// every listener stops accepting at the same moment, and each server's
// transfers in flight share the same grace instead of waiting for the
// servers before it to drain. The last one (the state store, which the
// others record events into) stops after them and needs no deadline:
// closing it flushes the events queued so far.
//
// A server whose shutdown ran out of grace has cut what it was still
// sending; that is how a stop ends, not a failure, so it is logged and
// not returned.
func stopServers(servers []server, grace time.Duration, log *slog.Logger) error {
	if len(servers) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers[:len(servers)-1] {
		wg.Go(func() { errs[i] = s.shutdown(ctx) })
	}
	wg.Wait()
	last := len(servers) - 1
	errs[last] = servers[last].shutdown(context.Background())
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, context.DeadlineExceeded):
			log.Warn("shutdown grace over; transfers still in flight were cut", "server", servers[i].name, "grace", grace)
			errs[i] = nil
		default:
			errs[i] = fmt.Errorf("%s shutdown: %w", servers[i].name, err)
		}
	}
	return errors.Join(errs...)
}
