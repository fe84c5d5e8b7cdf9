package metrics

import (
	"sync"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

// stageRank is each boot step's place in a boot.
var stageRank = map[string]int{
	state.KindDHCP: 1, state.KindTFTP: 2, state.KindMenu: 3,
	state.KindAsset: 4, state.KindFile: 5, state.KindCallback: 6,
}

// stageGap ends a boot: a step later than this after the previous one
// belongs to another boot.
const stageGap = 2 * time.Hour

type lastStage struct {
	kind string
	at   time.Time
}

// stageTracker remembers each machine's latest step.
type stageTracker struct {
	mu   sync.Mutex
	last map[hw.MAC]lastStage
}

// ObserveEvent times boot steps: when a machine's successful event is the
// first of a later step than its previous one, the time between them goes
// into bootwright_boot_stage_seconds{from,to}. A network boot's DHCP event
// after a later step starts a new boot (state.Event.StartsBoot). Pass it as state.Store.Observe.
func (m *Metrics) ObserveEvent(e state.Event, _ state.Machine) {
	rank, ok := stageRank[e.Kind]
	if !ok || e.Outcome != state.OK {
		return
	}
	t := &m.stages
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[hw.MAC]lastStage{}
	}
	prev, seen := t.last[e.MAC]
	switch {
	case !seen || e.StartsBoot() && prev.kind != state.KindDHCP || e.Time.Sub(prev.at) > stageGap:
		t.last[e.MAC] = lastStage{e.Kind, e.Time}
	case rank > stageRank[prev.kind]:
		m.BootStages.WithLabelValues(prev.kind, e.Kind).Observe(e.Time.Sub(prev.at).Seconds())
		t.last[e.MAC] = lastStage{e.Kind, e.Time}
	}
}
