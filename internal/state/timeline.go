package state

import "time"

// Stage is one step of a boot in a machine's timeline.
type Stage struct {
	Kind    string        `json:"kind"`
	Time    time.Time     `json:"time"`
	Outcome string        `json:"outcome"`          // the step's worst outcome
	After   time.Duration `json:"after_ns"`         // since the previous step
	Detail  string        `json:"detail,omitempty"` // of the step's first event
	// Reason, for a step that was not ok, is the detail of its latest
	// event with that outcome: why. (The Debian installer's step that
	// fetched its kernel, then a udeb the mirror lacks, is refused for the
	// udeb, not for the kernel its Detail names.)
	Reason string `json:"reason,omitempty"`
}

// stageOrder is the order of the steps of a network boot.
var stageOrder = []string{KindDHCP, KindTFTP, KindMenu, KindAsset, KindFile, KindCallback}

// Timeline condenses a machine's events (oldest first) into the steps of
// its latest boot: the events from its last DHCP decision for a network
// boot (see Event.StartsBoot) that followed something other than DHCP,
// one Stage per kind in boot order, each with the time since the step
// before.
func Timeline(events []Event) []Stage {
	start := 0
	for i := len(events) - 1; i > 0; i-- {
		if events[i].StartsBoot() && !events[i-1].StartsBoot() {
			start = i
			break
		}
	}
	// Walk back over the DHCP exchange that opened the boot.
	for start > 0 && events[start-1].StartsBoot() {
		start--
	}
	first := map[string]*Stage{}
	for _, e := range events[start:] {
		st, ok := first[e.Kind]
		if !ok {
			first[e.Kind] = &Stage{Kind: e.Kind, Time: e.Time, Outcome: e.Outcome, Detail: e.Detail}
			if e.Outcome != OK {
				first[e.Kind].Reason = e.Detail
			}
			continue
		}
		if e.Outcome != OK {
			st.Outcome, st.Reason = e.Outcome, e.Detail
		}
	}
	var out []Stage
	for _, k := range stageOrder {
		st, ok := first[k]
		if !ok {
			continue
		}
		if n := len(out); n > 0 && st.Time.After(out[n-1].Time) {
			st.After = st.Time.Sub(out[n-1].Time)
		}
		out = append(out, *st)
	}
	return out
}
