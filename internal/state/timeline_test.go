package state

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTimeline(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ev := func(s int, kind, outcome string) Event {
		return Event{Time: at(s), MAC: mac1, Kind: kind, Outcome: outcome}
	}
	events := []Event{
		// An earlier boot, which must not show.
		ev(0, KindDHCP, OK), ev(1, KindTFTP, Error),
		// The latest boot: a DHCP exchange of two packets, then the chain.
		ev(100, KindDHCP, OK), ev(104, KindDHCP, OK), ev(105, KindTFTP, OK), ev(112, KindMenu, OK),
		ev(113, KindAsset, OK), ev(114, KindAsset, Error), ev(130, KindFile, OK),
	}
	events[6].Detail, events[7].Detail = "/assets/linux", "/assets/x.udeb 404"
	got := Timeline(events)
	want := []Stage{
		{Kind: KindDHCP, Time: at(100), Outcome: OK},
		{Kind: KindTFTP, Time: at(105), Outcome: OK, After: 5 * time.Second},
		{Kind: KindMenu, Time: at(112), Outcome: OK, After: 7 * time.Second},
		{Kind: KindAsset, Time: at(113), Outcome: Error, After: time.Second, Detail: "/assets/linux", Reason: "/assets/x.udeb 404"},
		{Kind: KindFile, Time: at(130), Outcome: OK, After: 17 * time.Second},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Timeline (-want +got):\n%s", diff)
	}
	if got := Timeline(nil); len(got) != 0 {
		t.Errorf("Timeline(nil) = %v", got)
	}
}

// TestTimelineOSLease: the DHCP of the system a boot loaded (the Debian
// installer's, after its kernel and before its answer file; an installed
// system's and its renewals) stays in that boot, as seen in test/install:
// the installer's DISCOVER used to cut the menu and kernel off the
// install's timeline.
func TestTimelineOSLease(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 23, 9, 35, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ev := func(s int, kind string) Event { return Event{Time: at(s), MAC: mac1, Kind: kind, Outcome: OK} }
	lease := func(s int) Event { e := ev(s, KindDHCP); e.OSLease = true; return e }
	install := []Event{
		ev(0, KindDHCP), ev(1, KindDHCP), ev(2, KindTFTP), ev(3, KindMenu), ev(4, KindAsset),
		lease(156), lease(157), ev(168, KindFile), ev(341, KindAsset), ev(2000, KindCallback),
	}
	want := []Stage{
		{Kind: KindDHCP, Time: at(0), Outcome: OK},
		{Kind: KindTFTP, Time: at(2), Outcome: OK, After: time.Second * 2},
		{Kind: KindMenu, Time: at(3), Outcome: OK, After: time.Second},
		{Kind: KindAsset, Time: at(4), Outcome: OK, After: time.Second},
		{Kind: KindFile, Time: at(168), Outcome: OK, After: 164 * time.Second},
		{Kind: KindCallback, Time: at(2000), Outcome: OK, After: 1832 * time.Second},
	}
	if diff := cmp.Diff(want, Timeline(install)); diff != "" {
		t.Errorf("install (-want +got):\n%s", diff)
	}
	// The installed system: renewals, then a new network boot.
	later := append(install, lease(2100), lease(2200), ev(3000, KindDHCP), ev(3001, KindDHCP), ev(3002, KindTFTP), ev(3003, KindMenu))
	want = []Stage{
		{Kind: KindDHCP, Time: at(3000), Outcome: OK},
		{Kind: KindTFTP, Time: at(3002), Outcome: OK, After: 2 * time.Second},
		{Kind: KindMenu, Time: at(3003), Outcome: OK, After: time.Second},
	}
	if diff := cmp.Diff(want, Timeline(later)); diff != "" {
		t.Errorf("next boot (-want +got):\n%s", diff)
	}
}
