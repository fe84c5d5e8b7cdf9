package httpboot

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// apiGet asks h for the machine list as remote ("ip:port").
func apiGet(h http.Handler, path, remote string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAPIRateLimit(t *testing.T) {
	s, _ := newStateServer(t)
	s.APIRate = RateLimit{PerSecond: 1, Burst: 3}
	h := s.Handler()
	var codes []int
	for range 5 {
		codes = append(codes, apiGet(h, "/api/v1/machines", "10.0.0.50:40000").Code)
	}
	want := []int{200, 200, 200, 429, 429}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Fatalf("codes from one address = %v, want %v", codes, want)
	}
	rec := apiGet(h, "/api/v1/machines", "10.0.0.50:40001")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("another port of the same address: %d, want 429", rec.Code)
	}
	if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 || ra > 1 {
		t.Errorf("Retry-After = %q, want 1 (one token a second)", rec.Header().Get("Retry-After"))
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("429 Content-Type = %q, want application/json", got)
	}
	// Another address has its own bucket.
	if c := apiGet(h, "/api/v1/machines", "10.0.0.51:40000").Code; c != 200 {
		t.Errorf("second address: %d, want 200", c)
	}
	// Only the API is limited: boot routes still answer the limited address.
	if c := apiGet(h, "/boot.ipxe", "10.0.0.50:40000").Code; c != 200 {
		t.Errorf("/boot.ipxe from the limited address: %d, want 200", c)
	}
	if c := apiGet(h, "/healthz", "10.0.0.50:40000").Code; c != 200 {
		t.Errorf("/healthz from the limited address: %d, want 200", c)
	}
}

func TestAPIRateLimitOff(t *testing.T) {
	s, _ := newStateServer(t)
	s.APIRate = RateLimit{PerSecond: -1}
	h := s.Handler()
	for i := range 100 {
		if c := apiGet(h, "/api/v1/machines", "10.0.0.50:40000").Code; c != 200 {
			t.Fatalf("request %d: %d, want 200 with the limit off", i, c)
		}
	}
}

func TestAPIRateLimitDefault(t *testing.T) {
	s, _ := newStateServer(t)
	h := s.Handler()
	ok := 0
	for range 3 * DefaultAPIRate.Burst {
		if apiGet(h, "/api/v1/machines", "[2001:db8::1]:40000").Code == 200 {
			ok++
		}
	}
	// The burst, plus what refilled while the loop ran.
	if ok < DefaultAPIRate.Burst || ok > DefaultAPIRate.Burst+5 {
		t.Errorf("%d of %d requests answered, want about the default burst %d", ok, 3*DefaultAPIRate.Burst, DefaultAPIRate.Burst)
	}
	// Another address in the same IPv6 /64 shares the bucket.
	if c := apiGet(h, "/api/v1/machines", "[2001:db8::2]:40000").Code; c != 429 {
		t.Errorf("same /64: %d, want 429", c)
	}
	if c := apiGet(h, "/api/v1/machines", "[2001:db8:0:1::1]:40000").Code; c != 200 {
		t.Errorf("another /64: %d, want 200", c)
	}
}

func TestRateLimiterRefill(t *testing.T) {
	var l rateLimiter
	rl := RateLimit{PerSecond: 10, Burst: 2}
	a := netip.MustParseAddr("10.0.0.1")
	t0 := time.Unix(1000, 0)
	for i, step := range []struct {
		at   time.Duration
		ok   bool
		wait time.Duration
	}{
		{0, true, 0},
		{0, true, 0},
		{0, false, 100 * time.Millisecond},
		{50 * time.Millisecond, false, 50 * time.Millisecond},
		{100 * time.Millisecond, true, 0},
		{time.Hour, true, 0}, // refilled to the burst, not beyond
		{time.Hour, true, 0},
		{time.Hour, false, 100 * time.Millisecond},
	} {
		ok, wait := l.allow(a, rl, t0.Add(step.at))
		if ok != step.ok || (wait-step.wait).Abs() > time.Millisecond {
			t.Errorf("step %d at %v: allow = %v, wait %v; want %v, %v", i, step.at, ok, wait, step.ok, step.wait)
		}
	}
}

// TestRateLimiterBounded floods the table with distinct addresses: it
// never holds more than maxRateTracked, idle addresses are the ones
// forgotten, and an address that keeps asking stays limited throughout.
func TestRateLimiterBounded(t *testing.T) {
	var l rateLimiter
	rl := RateLimit{PerSecond: 10, Burst: 20}
	t0 := time.Unix(1000, 0)
	busy := netip.MustParseAddr("192.0.2.1")
	for range rl.Burst {
		l.allow(busy, rl, t0)
	}
	refused := 0
	for i := range 3 * maxRateTracked {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.allow(a, rl, now)
		// The busy address asks every millisecond; it earns a token
		// every 100.
		if ok, _ := l.allow(busy, rl, now); !ok {
			refused++
		}
		if n := l.tracked(); n > maxRateTracked {
			t.Fatalf("after %d addresses the table holds %d, more than %d", i+1, n, maxRateTracked)
		}
	}
	if want := 3 * maxRateTracked * 99 / 100; refused < want {
		t.Errorf("busy address refused %d times, want at least %d: its bucket was forgotten", refused, want)
	}
}

func TestRateLimitDefaults(t *testing.T) {
	for name, tc := range map[string]struct{ in, want RateLimit }{
		"zero":      {RateLimit{}, DefaultAPIRate},
		"rate only": {RateLimit{PerSecond: 5}, RateLimit{PerSecond: 5, Burst: 10}},
		"slow":      {RateLimit{PerSecond: 0.2}, RateLimit{PerSecond: 0.2, Burst: 1}},
		"both":      {RateLimit{PerSecond: 5, Burst: 7}, RateLimit{PerSecond: 5, Burst: 7}},
		"off stays": {RateLimit{PerSecond: -1}, RateLimit{PerSecond: -1, Burst: 1}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := tc.in.withDefaults(); got != tc.want {
				t.Errorf("withDefaults(%+v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}
