package bootconfig

import (
	"sync"
	"sync/atomic"
	"time"
)

// Live holds the Bundle in service and what happened at the last load.
// Readers get a complete Bundle, the new one or the previous one, never a
// mix: a reload stores a new Bundle only after it loaded and checked
// cleanly, and a failed reload leaves the Bundle in service untouched.
type Live struct {
	p atomic.Pointer[Bundle]

	mu     sync.Mutex
	status Status
}

// Status describes the config in service and the last reload.
type Status struct {
	Source    string    // where the Bundle in service came from
	Commit    string    // its git commit, if any
	LoadedAt  time.Time // when it went into service
	LastError string    // the last failed reload's error, "" after a success
	FailedAt  time.Time // when that reload failed
	Reloads   uint64    // successful loads, the first one included
	Failures  uint64    // failed reloads
}

// NewLive returns a Live serving b.
func NewLive(b *Bundle) *Live {
	l := &Live{}
	l.Store(b)
	return l
}

// Load returns the Bundle in service.
func (l *Live) Load() *Bundle { return l.p.Load() }

// Store puts b in service and clears the last error.
func (l *Live) Store(b *Bundle) {
	l.p.Store(b)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status.Source, l.status.Commit, l.status.LoadedAt = b.Dir, b.Commit, time.Now()
	l.status.LastError, l.status.FailedAt = "", time.Time{}
	l.status.Reloads++
}

// Fail records a reload that did not pass; the Bundle in service stays.
func (l *Live) Fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status.LastError, l.status.FailedAt = err.Error(), time.Now()
	l.status.Failures++
}

// Status returns the current status.
func (l *Live) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// Degraded reports whether the last reload failed.
func (s Status) Degraded() bool { return s.LastError != "" }
