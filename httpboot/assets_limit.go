package httpboot

import (
	"net/http"
	"net/netip"
	"sync"
)

// DefaultMaxStreamsPerIP is the concurrent download cap per client
// address when Server.MaxStreamsPerIP is zero. A booting machine fetches
// one file at a time; a few more allow for retries and HTTP Boot.
const DefaultMaxStreamsPerIP = 8

// streamLimiter counts the downloads in flight per client address.
type streamLimiter struct {
	mu sync.Mutex
	n  map[netip.Addr]int
}

// acquire counts one more stream for a, unless a already has max.
func (l *streamLimiter) acquire(a netip.Addr, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[a] >= max {
		return false
	}
	if l.n == nil {
		l.n = map[netip.Addr]int{}
	}
	l.n[a]++
	return true
}

func (l *streamLimiter) release(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[a]--; l.n[a] <= 0 {
		delete(l.n, a)
	}
}

// active is the number of downloads in flight.
func (l *streamLimiter) active() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	total := 0
	for _, n := range l.n {
		total += n
	}
	return total
}

// limitStreams answers 429 Too Many Requests to a client that already has
// MaxStreamsPerIP downloads in flight, so that one machine (or a script
// gone wrong) cannot take every connection from a lab that is booting.
func (s *Server) limitStreams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		max := s.MaxStreamsPerIP
		if max == 0 {
			max = DefaultMaxStreamsPerIP
		}
		a := remoteAddr(r)
		if max < 0 {
			// No cap, but still counted for Shutdown's report.
			max = int(^uint(0) >> 1)
		}
		if !s.streams.acquire(a, max) {
			logger(r).Warn("http: too many concurrent downloads", "limit", max)
			w.Header().Set("Retry-After", "2")
			http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
			return
		}
		defer s.streams.release(a)
		next.ServeHTTP(w, r)
	})
}
