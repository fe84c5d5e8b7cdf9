package state

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// BenchmarkRecent lists the 200 most recent of 12,000 machines, as the
// status page does after a flood of made-up MACs.
func BenchmarkRecent(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n, chunk = 12000, 2000
	t0 := time.Now()
	for i := range n {
		j := i * 7919 % n // made-up MACs come in no order
		mac := hw.MAC{2, 0xf1, 0, byte(j >> 16), byte(j >> 8), byte(j)}
		s.Record(Event{Time: t0.Add(time.Duration(i) * time.Millisecond), MAC: mac, Kind: KindDHCP, Outcome: OK})
		if i%chunk == chunk-1 { // stay below the write queue
			for ev, _ := s.Events(mac, 0); len(ev) == 0; ev, _ = s.Events(mac, 0) {
				time.Sleep(time.Millisecond)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if ms, total, err := s.Recent(200, Filter{}); err != nil || len(ms) != 200 || total != n {
			b.Fatalf("Recent = %d machines of %d, %v", len(ms), total, err)
		}
	}
}
