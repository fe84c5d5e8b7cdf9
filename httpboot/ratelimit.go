package httpboot

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// RateLimit bounds how many requests a client address may make: a token
// bucket refilled at PerSecond tokens a second holding at most Burst.
// The zero value means DefaultAPIRate; a negative PerSecond turns the
// limit off.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// DefaultAPIRate is the API's per-address limit when Server.APIRate is
// zero: plenty for the status page, the CLI and installers calling back,
// too little for a script in a loop to keep the store busy.
var DefaultAPIRate = RateLimit{PerSecond: 10, Burst: 20}

func (r RateLimit) withDefaults() RateLimit {
	if r.PerSecond == 0 {
		return DefaultAPIRate
	}
	if r.Burst <= 0 {
		r.Burst = max(1, int(math.Ceil(2*r.PerSecond)))
	}
	return r
}

// maxRateTracked bounds the per-address table. Past it, addresses whose
// bucket has refilled (they behave exactly like new ones) are forgotten,
// and if none has, all are: memory stays bounded whatever the spread of
// source addresses, at the price of a fresh burst for each of them.
const maxRateTracked = 1 << 14

type rateBucket struct {
	tokens float64
	last   time.Time
}

// rateLimiter is a token bucket per client address, with one mutex for
// the table: an API request costs far more than the lock.
type rateLimiter struct {
	mu      sync.Mutex
	buckets map[netip.Addr]*rateBucket
}

// rateKey is the address a client is counted under: an IPv4 address, or
// the /64 of an IPv6 one (a host picks addresses in its /64 freely).
func rateKey(a netip.Addr) netip.Addr {
	if a.Is6() && !a.Is4In6() {
		return netip.PrefixFrom(a, 64).Masked().Addr()
	}
	return a.Unmap()
}

// allow takes a token for a at now. When there is none it returns false
// and how long until there is one.
func (l *rateLimiter) allow(a netip.Addr, rl RateLimit, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[netip.Addr]*rateBucket{}
	}
	k := rateKey(a)
	b, ok := l.buckets[k]
	if !ok {
		if len(l.buckets) >= maxRateTracked {
			l.sweepLocked(rl, now)
		}
		b = &rateBucket{tokens: float64(rl.Burst), last: now}
		l.buckets[k] = b
	}
	b.tokens = min(float64(rl.Burst), b.tokens+now.Sub(b.last).Seconds()*rl.PerSecond)
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / rl.PerSecond * float64(time.Second))
	}
	b.tokens--
	return true, 0
}

// sweepLocked forgets idle addresses, or every address if none is idle.
func (l *rateLimiter) sweepLocked(rl RateLimit, now time.Time) {
	full := time.Duration(float64(rl.Burst) / rl.PerSecond * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxRateTracked {
		clear(l.buckets)
	}
}

// tracked is the number of addresses in the table.
func (l *rateLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// limitRate answers 429 Too Many Requests, with Retry-After in whole
// seconds, to a client address over APIRate. The request log records the
// refusal with the client's address.
func (s *Server) limitRate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rl := s.APIRate.withDefaults()
		if rl.PerSecond < 0 {
			next.ServeHTTP(w, r)
			return
		}
		ok, wait := s.apiLimit.allow(remoteAddr(r), rl, time.Now())
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
			writeJSON(w, http.StatusTooManyRequests, map[string]string{
				"error": "API rate limit: " + strconv.FormatFloat(rl.PerSecond, 'g', -1, 64) +
					" requests a second per address, bursts of " + strconv.Itoa(rl.Burst),
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}
