package httpboot

import (
	"fmt"
	"time"
)

// The status page draws its charts itself, as inline SVG laid out here:
// no script, no library, nothing fetched from elsewhere.

// Size of the boots-per-hour chart, in SVG units (pixels at 100%).
const (
	chartW   = 480
	chartH   = 90
	chartTop = 12 // room for the scale's label above the bars
)

// rect is one bar segment of a chart.
type rect struct {
	X, Y, W, H float64
	Class      string // ok, failed, stalled or running: its colour
	Title      string // shown when pointed at
}

// hoursChart is the boots-per-hour chart.
type hoursChart struct {
	W, H  int
	Max   int // boots in the busiest hour: the top of the scale
	Rects []rect
	From  string // the first hour's label
	To    string // "now"
}

// chartOf lays out st's hours as stacked bars: ok at the bottom, then
// failed, stalled and running.
func chartOf(st bootStats) hoursChart {
	c := hoursChart{W: chartW, H: chartH + chartTop, To: "now"}
	if len(st.Hours) == 0 {
		return c
	}
	c.From = st.Hours[0].Start.Local().Format("15:04")
	for _, h := range st.Hours {
		c.Max = max(c.Max, h.Total())
	}
	if c.Max == 0 {
		return c
	}
	slot := float64(chartW) / float64(len(st.Hours))
	for i, h := range st.Hours {
		y := float64(chartTop + chartH)
		for _, seg := range []struct {
			n     int
			class string
		}{{h.OK, "ok"}, {h.Failed, "failed"}, {h.Stalled, "stalled"}, {h.Running, "running"}} {
			if seg.n == 0 {
				continue
			}
			ht := float64(seg.n) / float64(c.Max) * chartH
			y -= ht
			c.Rects = append(c.Rects, rect{
				X: float64(i)*slot + 1, Y: y, W: slot - 2, H: ht, Class: seg.class,
				Title: fmt.Sprintf("%s: %d %s", h.Start.Local().Format("15:04"), seg.n, seg.class),
			})
		}
	}
	return c
}

// timeBar is one arch's row in the DHCP-to-kernel chart: bar widths in
// percent of the slowest p95.
type timeBar struct {
	archTimes
	W50, W95 float64
}

// timeBars lays out st's DHCP-to-kernel times, scaled to the slowest p95.
func timeBars(st bootStats) []timeBar {
	var top time.Duration
	for _, a := range st.ToKernel {
		top = max(top, a.P95)
	}
	out := make([]timeBar, len(st.ToKernel))
	for i, a := range st.ToKernel {
		out[i] = timeBar{archTimes: a}
		if top > 0 {
			out[i].W50 = 100 * float64(a.P50) / float64(top)
			out[i].W95 = 100 * float64(a.P95) / float64(top)
		}
	}
	return out
}
