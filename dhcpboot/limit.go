package dhcpboot

import (
	"sync"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// RateLimit bounds how many packets one MAC may have answered: a token
// bucket refilled at PerSecond tokens a second holding at most Burst.
// The zero value means 4 a second with a burst of 16, enough for a client
// that retries and reboots, too little for one stuck in a loop to crowd
// out the others. A negative PerSecond turns the limit off.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

func (r RateLimit) withDefaults() RateLimit {
	if r.PerSecond == 0 {
		r.PerSecond = 4
	}
	if r.Burst <= 0 {
		r.Burst = 16
	}
	return r
}

// maxTracked bounds the per-MAC tables; beyond it, idle entries are swept.
const maxTracked = 1 << 16

type bucket struct {
	tokens float64
	last   time.Time
}

// limiter is a per-MAC token bucket. It is a few lines rather than one
// x/time/rate.Limiter per MAC so that a table of tens of thousands of MACs
// costs one small struct each and one mutex in all.
type limiter struct {
	rl      RateLimit
	mu      sync.Mutex
	buckets map[hw.MAC]*bucket
}

func newLimiter(rl RateLimit) *limiter {
	return &limiter{rl: rl.withDefaults(), buckets: map[hw.MAC]*bucket{}}
}

// allow takes a token for mac at now and reports whether there was one.
func (l *limiter) allow(mac hw.MAC, now time.Time) bool {
	if l.rl.PerSecond < 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[mac]
	if !ok {
		if len(l.buckets) >= maxTracked {
			l.sweepLocked(now)
		}
		b = &bucket{tokens: float64(l.rl.Burst), last: now}
		l.buckets[mac] = b
	}
	b.tokens = min(float64(l.rl.Burst), b.tokens+now.Sub(b.last).Seconds()*l.rl.PerSecond)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweepLocked forgets buckets that have refilled: they behave exactly
// like new ones. If none has, it forgets them all rather than grow.
func (l *limiter) sweepLocked(now time.Time) {
	full := time.Duration(float64(l.rl.Burst) / l.rl.PerSecond * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxTracked {
		clear(l.buckets)
	}
}

// once says yes to a MAC and a kind of warning at most once per
// interval, so that a warning about a client that keeps asking is logged
// once, not on every packet.
type once struct {
	every time.Duration
	mu    sync.Mutex
	last  map[onceKey]time.Time
}

type onceKey struct {
	mac  hw.MAC
	what string
}

func newOnce(every time.Duration) *once {
	return &once{every: every, last: map[onceKey]time.Time{}}
}

func (o *once) ok(mac hw.MAC, what string, now time.Time) bool {
	k := onceKey{mac, what}
	o.mu.Lock()
	defer o.mu.Unlock()
	if t, seen := o.last[k]; seen && now.Sub(t) < o.every {
		return false
	}
	if len(o.last) >= maxTracked {
		for k, t := range o.last {
			if now.Sub(t) >= o.every {
				delete(o.last, k)
			}
		}
		if len(o.last) >= maxTracked {
			clear(o.last)
		}
	}
	o.last[k] = now
	return true
}
