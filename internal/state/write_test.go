package state

import (
	"path/filepath"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"
)

// TestRecordDropsWhenTheQueueIsFull holds the writer in Observe after the
// first event, records more than the queue holds, and checks that the
// excess is counted as dropped, that Close commits the rest, and that
// Observe saw each event with its machine as committed.
func TestRecordDropsWhenTheQueueIsFull(t *testing.T) {
	const queue, extra = 4096, 10
	path := filepath.Join(t.TempDir(), FileName)
	s := open(t, path)
	entered, release := make(chan struct{}), make(chan struct{})
	var observed []hw.MAC
	s.Observe = func(e Event, m Machine) {
		if len(observed) == 0 {
			close(entered)
			<-release
		}
		if m.MAC != e.MAC || m.LastEvent != KindDHCP {
			t.Errorf("Observe(%+v) with machine %+v", e, m)
		}
		observed = append(observed, e.MAC)
	}
	mac := macN
	s.Record(Event{MAC: mac(0), Kind: KindDHCP, Outcome: OK})
	<-entered // the writer has committed event 0 and waits in Observe
	for i := 1; i <= queue+extra; i++ {
		s.Record(Event{MAC: mac(i), Kind: KindDHCP, Outcome: OK})
	}
	if got := s.Dropped(); got != extra {
		t.Errorf("Dropped() = %d, want %d", got, extra)
	}
	close(release)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(observed) != 1+queue {
		t.Fatalf("Observe saw %d events, want %d", len(observed), 1+queue)
	}
	for i, got := range observed {
		if got != mac(i) {
			t.Fatalf("event %d observed for %s, want %s (in order)", i, got, mac(i))
		}
	}
	s = open(t, path)
	defer s.Close()
	if ms, _ := s.Machines(); len(ms) != 1+queue {
		t.Errorf("%d machines after reopening, want %d", len(ms), 1+queue)
	}
	if err := s.Health(); err != nil {
		t.Errorf("Health() = %v", err)
	}
}
