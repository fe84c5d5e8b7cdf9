package pgstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestSetDownTimeout: a timed-out query marks the database down only
// when no heartbeat has succeeded for DeadAfter; a failed connection
// marks it down at once, and a heartbeat brings it back.
func TestSetDownTimeout(t *testing.T) {
	db := &DB{cfg: Config{DeadAfter: 3 * time.Second}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	slow := fmt.Errorf("read machine: %w", context.DeadlineExceeded)
	refused := &net.OpError{Op: "dial", Err: fmt.Errorf("connection refused")}

	db.setDown(nil) // a heartbeat succeeded just now
	db.setDown(slow)
	if err := db.Down(); err != nil {
		t.Errorf("one slow query right after a heartbeat: Down() = %v, want nil", err)
	}
	db.lastOK.Store(time.Now().Add(-4 * time.Second).UnixNano())
	db.setDown(slow)
	if db.Down() == nil {
		t.Error("a slow query 4 s after the last heartbeat (DeadAfter 3 s): Down() = nil, want down")
	}
	db.setDown(nil)
	if err := db.Down(); err != nil {
		t.Errorf("after a heartbeat: Down() = %v, want nil", err)
	}
	db.setDown(refused)
	if db.Down() == nil {
		t.Error("connection refused right after a heartbeat: Down() = nil, want down")
	}
}
