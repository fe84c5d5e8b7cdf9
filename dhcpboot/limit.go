package dhcpboot

import "github.com/bootwright/bootwright/internal/permac"

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

// Limiter returns the per-MAC token bucket r describes.
func (r RateLimit) Limiter() *permac.Limiter {
	r = r.withDefaults()
	return permac.NewLimiter(r.PerSecond, r.Burst)
}
