package httpboot

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/menus"
)

// maxDiscovered bounds the machines not in machines.yaml the status page
// lists, and so the timelines it reads; the rest are counted, and found
// by searching.
const maxDiscovered = 200

// timelineEvents is how many of a machine's latest events its steps are
// made from.
const timelineEvents = 200

// maxQuery bounds a search, in bytes.
const maxQuery = 200

// row is one machine on the status page.
type row struct {
	MachineView
	Steps []step
	Err   string // why its events could not be read
}

// step is one step of a machine's latest boot (a state.Stage) with the
// detail of the event that decided its outcome: for a refused or failed
// step, why.
type step struct {
	state.Stage
	Reason string
}

// viewOf merges what the store recorded of a machine with its entry in
// machines.yaml (nil when it is not listed).
func viewOf(m state.Machine, c *menus.Machine) MachineView {
	v := MachineView{Machine: m}
	if c != nil {
		v.Known, v.Name, v.Labels = true, c.Name, c.Labels
		if v.State == "" {
			v.State = state.Assigned
		}
	}
	return v
}

// Title is how the status page names a machine: its name in
// machines.yaml, else its MAC.
func (v MachineView) Title() string {
	if v.Name != "" {
		return v.Name
	}
	return v.MAC.String()
}

// searchText is what a search matches a machine against, lower case: its
// name, its MAC in every form, its last addresses, state, arch and labels.
// The page's filter box matches the same text (the rows' data-search).
func searchText(v MachineView) string {
	f := []string{v.Title(), v.MAC.String(), v.MAC.URL(), v.MAC.Hex(), v.State}
	for _, a := range []netip.Addr{v.LastIP, v.LastIP6} {
		if a.IsValid() {
			f = append(f, a.String())
		}
	}
	if v.Arch.Known() {
		f = append(f, v.Arch.String())
	}
	f = append(f, v.Labels...)
	return strings.ToLower(strings.Join(f, " "))
}

// searchTerms splits a query into the lower-case words a machine must
// all contain.
func searchTerms(q string) []string { return strings.Fields(strings.ToLower(q)) }

func matches(terms []string, v MachineView) bool {
	if len(terms) == 0 {
		return true
	}
	text := searchText(v)
	for _, t := range terms {
		if !strings.Contains(text, t) {
			return false
		}
	}
	return true
}

// statusListing lists the machines matching q (all for ""): every one in
// machines.yaml, in file order, then the maxDiscovered most recently
// seen of the others, with a count of the rest. Timelines are read for
// these rows only.
func (s *Server) statusListing(q string) (statusData, error) {
	cfg := s.Boot.Config.Load().Menus
	terms := searchTerms(q)
	list := cfg.MachineList()
	macs := make([]hw.MAC, len(list))
	for i, c := range list {
		macs[i] = c.MAC.MAC
	}
	seen, err := s.Boot.State.Lookup(macs)
	if err != nil {
		return statusData{}, fmt.Errorf("listed machines: %w", err)
	}
	d := statusData{Query: q, ListedTotal: len(list)}
	for _, c := range list {
		m, ok := seen[c.MAC.MAC]
		if !ok {
			m = state.Machine{MAC: c.MAC.MAC}
		}
		if v := viewOf(m, c); matches(terms, v) {
			d.Listed = append(d.Listed, s.rowOf(v))
		}
	}
	f := state.Filter{SkipMAC: func(mac hw.MAC) bool { return cfg.Machines[mac] != nil }}
	if len(terms) > 0 {
		f.Keep = func(m *state.Machine) bool { return matches(terms, viewOf(*m, nil)) }
	}
	others, total, err := s.Boot.State.Recent(maxDiscovered, f)
	if err != nil {
		return statusData{}, fmt.Errorf("discovered machines: %w", err)
	}
	for _, m := range others {
		d.Discovered = append(d.Discovered, s.rowOf(viewOf(m, nil)))
	}
	d.DiscoveredTotal, d.More = total, total-len(others)
	return d, nil
}

// rowOf reads v's latest events for the steps of its latest boot.
func (s *Server) rowOf(v MachineView) row {
	r := row{MachineView: v}
	if v.LastSeen.IsZero() {
		return r // never seen: no events to read
	}
	ev, err := s.Boot.State.Events(v.MAC, timelineEvents)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Timeline = state.Timeline(ev)
	r.Steps = stepsOf(r.Timeline)
	return r
}

// stepsOf pairs each stage of a timeline with its reason: for a stage
// that was not ok, why (state.Stage.Reason); else its first event's detail.
func stepsOf(tl []state.Stage) []step {
	out := make([]step, len(tl))
	for i, st := range tl {
		out[i] = step{Stage: st, Reason: st.Detail}
		if st.Reason != "" {
			out[i].Reason = st.Reason
		}
	}
	return out
}
