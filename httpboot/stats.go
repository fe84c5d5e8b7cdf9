package httpboot

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/bootwright/bootwright/internal/state"
)

// The boot charts read the events of the statsMachines machines seen
// most recently in the last day, at most statsEvents of each, and are
// worked out again at most every statsTTL: a page that refreshes, or many
// people watching, cost one pass over the store per statsTTL.
const (
	statsMachines = 1000
	statsEvents   = 500
	statsTTL      = 15 * time.Second
	statsHours    = 24
)

// bootCounts counts boots by outcome.
type bootCounts struct {
	OK      int `json:"ok"`
	Failed  int `json:"failed"`
	Stalled int `json:"stalled"`
	Running int `json:"running"`
}

func (c *bootCounts) add(outcome string) {
	switch outcome {
	case state.BootOK:
		c.OK++
	case state.BootFailed:
		c.Failed++
	case state.BootStalled:
		c.Stalled++
	default:
		c.Running++
	}
}

// Total is every boot counted.
func (c bootCounts) Total() int { return c.OK + c.Failed + c.Stalled + c.Running }

// hourBoots is one hour of the boots chart.
type hourBoots struct {
	Start time.Time `json:"start"`
	bootCounts
}

// archTimes is the time from DHCP to kernel of one arch's boots.
type archTimes struct {
	Arch string        `json:"arch"`
	N    int           `json:"boots"`
	P50  time.Duration `json:"p50_ns"`
	P95  time.Duration `json:"p95_ns"`
}

// bootStats answers, for the status page and /api/v1/stats, how booting
// went lately.
type bootStats struct {
	At       time.Time   `json:"at"`
	LastHour bootCounts  `json:"last_hour"`
	LastDay  bootCounts  `json:"last_day"`
	Hours    []hourBoots `json:"hours"` // oldest first, the last one the current hour
	ToKernel []archTimes `json:"dhcp_to_kernel"`
	// Machines is how many machines' events were read; Capped says
	// that more were seen in the last day than the charts read.
	Machines int  `json:"machines"`
	Capped   bool `json:"capped,omitempty"`
}

// summarize counts boots (of any machines, in any order) as of now.
func summarize(boots []state.Boot, now time.Time) bootStats {
	st := bootStats{At: now, Hours: make([]hourBoots, statsHours)}
	first := now.Truncate(time.Hour).Add(-(statsHours - 1) * time.Hour)
	for i := range st.Hours {
		st.Hours[i].Start = first.Add(time.Duration(i) * time.Hour)
	}
	times := map[string][]time.Duration{}
	for _, b := range boots {
		age := now.Sub(b.Start)
		if age < 0 || age > statsHours*time.Hour {
			continue
		}
		st.LastDay.add(b.Outcome)
		if age <= time.Hour {
			st.LastHour.add(b.Outcome)
		}
		if i := int(b.Start.Sub(first) / time.Hour); i >= 0 && i < statsHours {
			st.Hours[i].add(b.Outcome)
		}
		if b.HasKernel {
			arch := "unknown"
			if b.Arch != 0 {
				arch = b.Arch.String()
			}
			times[arch] = append(times[arch], b.ToKernel)
		}
	}
	for arch, ds := range times {
		slices.Sort(ds)
		st.ToKernel = append(st.ToKernel, archTimes{Arch: arch, N: len(ds), P50: percentile(ds, 50), P95: percentile(ds, 95)})
	}
	slices.SortFunc(st.ToKernel, func(a, b archTimes) int { return b.N - a.N })
	return st
}

// percentile is the nearest-rank p-th percentile of sorted ds.
func percentile(ds []time.Duration, p int) time.Duration {
	i := (len(ds)*p + 99) / 100
	return ds[max(i, 1)-1]
}

// statsCache keeps the latest bootStats for statsTTL.
type statsCache struct {
	mu  sync.Mutex
	at  time.Time
	val bootStats
}

// bootStats reads the boots of the last day from the store, or returns
// those read less than statsTTL ago.
func (s *Server) bootStats() (bootStats, error) {
	c := &s.stats
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.Boot.State.Now()
	if !c.at.IsZero() && now.Sub(c.at) < statsTTL && !now.Before(c.at) {
		return c.val, nil
	}
	since := now.Add(-statsHours*time.Hour - state.BootGap)
	ms, total, err := s.Boot.State.Recent(statsMachines, state.Filter{
		Keep: func(m *state.Machine) bool { return m.LastSeen.After(since) },
	})
	if err != nil {
		return bootStats{}, fmt.Errorf("machines seen in the last day: %w", err)
	}
	var boots []state.Boot
	for _, m := range ms {
		ev, err := s.Boot.State.Events(m.MAC, statsEvents)
		if err != nil {
			return bootStats{}, fmt.Errorf("events of %s: %w", m.MAC, err)
		}
		boots = append(boots, state.Boots(ev, now)...)
	}
	st := summarize(boots, now)
	st.Machines, st.Capped = len(ms), total > len(ms)
	c.at, c.val = now, st
	return st, nil
}

// apiStats serves the boot charts' numbers as JSON.
func (s *Server) apiStats(w http.ResponseWriter, r *http.Request) {
	st, err := s.bootStats()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "boot statistics", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
