package permac

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/hw"
)

func TestLimiter(t *testing.T) {
	l := NewLimiter(1, 3)
	now := time.Unix(1e9, 0)
	k := hw.MAC{2, 0, 0, 0, 0, 1}
	var got []bool
	for range 5 {
		got = append(got, l.Allow(k, now))
	}
	got = append(got, l.Allow(hw.MAC{2}, now)) // another client is not affected
	now = now.Add(1500 * time.Millisecond)
	got = append(got, l.Allow(k, now), l.Allow(k, now))
	if diff := cmp.Diff([]bool{true, true, true, false, false, true, true, false}, got); diff != "" {
		t.Errorf("Allow (-want +got):\n%s", diff)
	}
	if off := NewLimiter(-1, 1); !off.Allow(k, now) || !off.Allow(k, now) {
		t.Error("a negative rate limits")
	}
}

func TestOnce(t *testing.T) {
	now := time.Unix(1e9, 0)
	k := hw.MAC{2, 0, 0, 0, 0, 1}
	o := NewOnce(time.Minute)
	if !o.OK(k, "a", now) || o.OK(k, "a", now.Add(time.Second)) || !o.OK(k, "b", now) || !o.OK(k, "a", now.Add(2*time.Minute)) {
		t.Error("Once does not say yes once per interval")
	}
}

// TestBounded: a flood of MACs never grows the tables past maxTracked.
func TestBounded(t *testing.T) {
	l, o := NewLimiter(4, 16), NewOnce(time.Minute)
	now := time.Unix(1e9, 0)
	for i := range maxTracked + 10 {
		mac := hw.MAC{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)}
		l.Allow(mac, now)
		o.OK(mac, "x", now)
	}
	if len(l.buckets) > maxTracked || len(o.last) > maxTracked {
		t.Errorf("tables grew to %d and %d, more than %d", len(l.buckets), len(o.last), maxTracked)
	}
}
