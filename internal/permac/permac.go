package permac

import (
	"sync"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// maxTracked bounds the per-MAC tables; beyond it, idle entries are swept.
const maxTracked = 1 << 16

type bucket struct {
	tokens float64
	last   time.Time
}

// Limiter is a per-MAC token bucket: refilled at PerSecond tokens a
// second, holding at most Burst. A negative PerSecond lets everything
// through. It is a few lines rather than one x/time/rate.Limiter per MAC
// so that a table of tens of thousands of MACs costs one small struct
// each and one mutex in all. Create it with NewLimiter.
type Limiter struct {
	PerSecond float64
	Burst     int

	mu      sync.Mutex
	buckets map[hw.MAC]*bucket
}

// NewLimiter returns a limiter of perSecond tokens a second in bursts of
// burst (at least 1).
func NewLimiter(perSecond float64, burst int) *Limiter {
	return &Limiter{PerSecond: perSecond, Burst: max(burst, 1), buckets: map[hw.MAC]*bucket{}}
}

// Allow takes a token for mac at now and reports whether there was one.
func (l *Limiter) Allow(mac hw.MAC, now time.Time) bool {
	if l.PerSecond < 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[mac]
	if !ok {
		if len(l.buckets) >= maxTracked {
			l.sweepLocked(now)
		}
		b = &bucket{tokens: float64(l.Burst), last: now}
		l.buckets[mac] = b
	}
	b.tokens = min(float64(l.Burst), b.tokens+now.Sub(b.last).Seconds()*l.PerSecond)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweepLocked forgets buckets that have refilled: they behave exactly
// like new ones. If none has, it forgets them all rather than grow.
func (l *Limiter) sweepLocked(now time.Time) {
	full := time.Duration(float64(l.Burst) / l.PerSecond * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxTracked {
		clear(l.buckets)
	}
}

// Once says yes to a MAC and a kind of warning at most once per
// interval. Create it with NewOnce.
type Once struct {
	every time.Duration
	mu    sync.Mutex
	last  map[onceKey]time.Time
}

type onceKey struct {
	mac  hw.MAC
	what string
}

// NewOnce returns a Once that says yes once per every.
func NewOnce(every time.Duration) *Once {
	return &Once{every: every, last: map[onceKey]time.Time{}}
}

// OK reports whether the warning what about mac may be given at now, and
// if so remembers that it was.
func (o *Once) OK(mac hw.MAC, what string, now time.Time) bool {
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
