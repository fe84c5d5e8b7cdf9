package httpboot

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

func TestSummarize(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC)
	efi := hw.ArchFromCode(7)
	var boots []state.Boot
	// 20 EFI boots in the last hour reaching their kernel in 1..20 s.
	for i := 1; i <= 20; i++ {
		boots = append(boots, state.Boot{Arch: efi, Start: now.Add(-time.Duration(i) * time.Minute), Outcome: state.BootOK,
			HasKernel: true, ToKernel: time.Duration(i) * time.Second})
	}
	boots = append(boots,
		state.Boot{Arch: hw.ArchBIOS, Start: now.Add(-3 * time.Hour), Outcome: state.BootFailed},
		state.Boot{Start: now.Add(-5 * time.Hour), Outcome: state.BootStalled},
		state.Boot{Start: now.Add(-5 * time.Hour), Outcome: state.BootOK, HasKernel: true, ToKernel: time.Minute},
		state.Boot{Start: now.Add(-25 * time.Hour), Outcome: state.BootOK}, // older than a day
		state.Boot{Start: now.Add(-time.Second), Outcome: state.BootRunning},
	)
	st := summarize(boots, now)
	if diff := cmp.Diff(bootCounts{OK: 20, Running: 1}, st.LastHour); diff != "" {
		t.Errorf("last hour (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(bootCounts{OK: 21, Failed: 1, Stalled: 1, Running: 1}, st.LastDay); diff != "" {
		t.Errorf("last day (-want +got):\n%s", diff)
	}
	if len(st.Hours) != 24 || !st.Hours[23].Start.Equal(now.Truncate(time.Hour)) {
		t.Fatalf("hours: %d, the last from %v", len(st.Hours), st.Hours[len(st.Hours)-1].Start)
	}
	// The current hour, 10:00-10:30, holds the boots 1..20 minutes ago.
	wantHours := map[int]bootCounts{23: {OK: 20, Running: 1}, 20: {Failed: 1}, 18: {OK: 1, Stalled: 1}}
	for i, h := range st.Hours {
		if diff := cmp.Diff(wantHours[i], h.bootCounts); diff != "" {
			t.Errorf("hour %d (%v) (-want +got):\n%s", i, h.Start, diff)
		}
	}
	want := []archTimes{
		{Arch: efi.String(), N: 20, P50: 10 * time.Second, P95: 19 * time.Second},
		{Arch: "unknown", N: 1, P50: time.Minute, P95: time.Minute},
	}
	if diff := cmp.Diff(want, st.ToKernel); diff != "" {
		t.Errorf("DHCP to kernel (-want +got):\n%s", diff)
	}
}

// TestStatusCharts records three machines' boots in a real store and
// reads them back from the JSON API, the charts and the page.
func TestStatusCharts(t *testing.T) {
	s, st := newStatusServer(t)
	t0 := time.Now().Add(-40 * time.Minute)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	efi := hw.ArchFromCode(7)
	events := []state.Event{
		// node1: BIOS, chainloads iPXE and has its kernel 7 s after DHCP.
		{MAC: node1, Time: at(0), Kind: state.KindDHCP, Outcome: state.OK, Arch: hw.ArchBIOS},
		{MAC: node1, Time: at(1), Kind: state.KindTFTP, Outcome: state.OK},
		{MAC: node1, Time: at(3), Kind: state.KindDHCP, Outcome: state.OK, Arch: hw.ArchBIOS},
		{MAC: node1, Time: at(4), Kind: state.KindMenu, Outcome: state.OK},
		{MAC: node1, Time: at(7), Kind: state.KindAsset, Outcome: state.OK, Detail: "/assets/testos/vmlinuz"},
		// node2: EFI, its kernel is missing.
		{MAC: node2, Time: at(10), Kind: state.KindDHCP, Outcome: state.OK, Arch: efi},
		{MAC: node2, Time: at(12), Kind: state.KindMenu, Outcome: state.OK},
		{MAC: node2, Time: at(13), Kind: state.KindAsset, Outcome: state.Error},
		// A discovered machine got DHCP and its NBP, then nothing.
		{MAC: discovered(1), Time: at(20), Kind: state.KindDHCP, Outcome: state.OK, Arch: efi},
		{MAC: discovered(1), Time: at(21), Kind: state.KindTFTP, Outcome: state.OK},
	}
	for _, e := range events {
		e.Known = e.MAC != discovered(1)
		st.Record(e)
	}
	waitEvents(t, st, node1, 5)
	waitEvents(t, st, node2, 3)
	waitEvents(t, st, discovered(1), 2)

	_, body := do(t, s.Handler(), "GET", "/api/v1/stats", "")
	var got bootStats
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if diff := cmp.Diff(bootCounts{OK: 1, Failed: 1, Stalled: 1}, got.LastHour); diff != "" {
		t.Errorf("last hour (-want +got):\n%s", diff)
	}
	wantTimes := []archTimes{{Arch: hw.ArchBIOS.String(), N: 1, P50: 7 * time.Second, P95: 7 * time.Second}}
	if diff := cmp.Diff(wantTimes, got.ToKernel); diff != "" {
		t.Errorf("DHCP to kernel (-want +got):\n%s", diff)
	}
	if got.Machines != 3 || got.Capped {
		t.Errorf("read %d machines (capped %v), want 3", got.Machines, got.Capped)
	}

	_, charts := do(t, s.Handler(), "GET", "/status/charts", "")
	var classes []string
	for _, m := range regexp.MustCompile(`<rect class="(\w+)"`).FindAllStringSubmatch(charts, -1) {
		classes = append(classes, m[1])
	}
	slices.Sort(classes) // the boots may straddle two hours
	if diff := cmp.Diff([]string{"failed", "ok", "stalled"}, classes); diff != "" {
		t.Errorf("bars (-want +got):\n%s", diff)
	}
	for _, want := range []string{" per hour", "DHCP to kernel", ">" + hw.ArchBIOS.String() + "<", ">7s<"} {
		if !strings.Contains(charts, want) {
			t.Errorf("charts lack %q:\n%s", want, charts)
		}
	}
	if _, page := do(t, s.Handler(), "GET", "/", ""); !strings.Contains(page, `id="charts"`) || !strings.Contains(page, "DHCP to kernel") {
		t.Error("the status page does not show the charts")
	}
}
