package state

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

func TestRecentAgreesWithMachines(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), FileName))
	defer s.Close()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	const n = 40
	for i := range n {
		// Machines come in threes that share a time, to check the tie-break.
		at := t0.Add(time.Duration(i-i%3) * time.Second)
		s.Record(Event{Time: at, MAC: macN(i * 7 % n), Kind: KindDHCP, Outcome: OK})
	}
	for i := range n {
		flush(t, s, macN(i), 1)
	}
	all, err := s.Machines()
	if err != nil {
		t.Fatal(err)
	}
	even := func(m *Machine) bool { return m.MAC[5]%2 == 0 }
	odd := func(mac hw.MAC) bool { return mac[5]%2 == 1 }
	tests := map[string]struct {
		limit int
		f     Filter
	}{
		"all, bounded":                   {limit: 5},
		"all, beyond":                    {limit: n + 10},
		"none, only the count":           {limit: 0},
		"kept, bounded":                  {limit: 7, f: Filter{Keep: even}},
		"kept, beyond":                   {limit: n, f: Filter{Keep: even}},
		"kept, only the count":           {limit: 0, f: Filter{Keep: even}},
		"skipped by MAC, bounded":        {limit: 7, f: Filter{SkipMAC: odd}},
		"skipped by MAC, only the count": {limit: 0, f: Filter{SkipMAC: odd}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var want []hw.MAC
			wantTotal := 0
			for _, m := range all {
				if tc.f.Keep != nil && !tc.f.Keep(&m) || tc.f.SkipMAC != nil && tc.f.SkipMAC(m.MAC) {
					continue
				}
				wantTotal++
				if len(want) < tc.limit {
					want = append(want, m.MAC)
				}
			}
			ms, total, err := s.Recent(tc.limit, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []hw.MAC
			for _, m := range ms {
				got = append(got, m.MAC)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Recent(%d) (-want +got):\n%s", tc.limit, diff)
			}
			if total != wantTotal {
				t.Errorf("Recent(%d) total = %d, want %d", tc.limit, total, wantTotal)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), FileName))
	defer s.Close()
	s.Record(Event{MAC: mac1, Kind: KindDHCP, Outcome: OK, Known: true})
	flush(t, s, mac1, 1)
	got, err := s.Lookup([]hw.MAC{mac1, mac2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[mac1].MAC != mac1 || got[mac1].State != Assigned {
		t.Errorf("Lookup = %+v, want only %s, assigned", got, mac1)
	}
}

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
