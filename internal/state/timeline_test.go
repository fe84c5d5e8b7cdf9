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
	got := Timeline(events)
	want := []Stage{
		{Kind: KindDHCP, Time: at(100), Outcome: OK},
		{Kind: KindTFTP, Time: at(105), Outcome: OK, After: 5 * time.Second},
		{Kind: KindMenu, Time: at(112), Outcome: OK, After: 7 * time.Second},
		{Kind: KindAsset, Time: at(113), Outcome: Error, After: time.Second},
		{Kind: KindFile, Time: at(130), Outcome: OK, After: 17 * time.Second},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Timeline (-want +got):\n%s", diff)
	}
	if got := Timeline(nil); len(got) != 0 {
		t.Errorf("Timeline(nil) = %v", got)
	}
}
