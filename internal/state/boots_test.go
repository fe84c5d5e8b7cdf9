package state

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/hw"
)

func TestBoots(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	mac := hw.MAC{2, 0, 0, 0, 0, 1}
	efi := hw.ArchFromCode(7)
	ev := func(sec int, kind, outcome string) Event {
		return Event{Time: t0.Add(time.Duration(sec) * time.Second), MAC: mac, Kind: kind, Outcome: outcome}
	}
	dhcp := func(sec int) Event { e := ev(sec, KindDHCP, OK); e.Arch = efi; return e }
	now := t0.Add(time.Hour)
	tests := []struct {
		name   string
		events []Event
		now    time.Time
		want   []Boot
	}{
		{name: "none"},
		{
			name:   "chainload to a kernel is one boot",
			events: []Event{dhcp(0), ev(1, KindTFTP, OK), dhcp(3), ev(4, KindMenu, OK), ev(9, KindAsset, OK), ev(12, KindAsset, OK)},
			want:   []Boot{{MAC: mac, Arch: efi, Start: t0, Outcome: BootOK, ToKernel: 9 * time.Second, HasKernel: true}},
		},
		{
			name:   "a DHCP after the menu begins the next boot",
			events: []Event{dhcp(0), ev(2, KindMenu, OK), dhcp(60), ev(61, KindTFTP, Error)},
			want: []Boot{
				{MAC: mac, Arch: efi, Start: t0, Outcome: BootOK},
				{MAC: mac, Arch: efi, Start: t0.Add(time.Minute), Outcome: BootFailed},
			},
		},
		{
			name:   "a failure healed by a kernel served after it",
			events: []Event{dhcp(0), ev(2, KindAsset, Refused), ev(3, KindAsset, OK)},
			want:   []Boot{{MAC: mac, Arch: efi, Start: t0, Outcome: BootOK, ToKernel: 3 * time.Second, HasKernel: true}},
		},
		{
			name:   "a refused answer file after the kernel fails the boot",
			events: []Event{dhcp(0), ev(2, KindAsset, OK), ev(30, KindFile, Refused)},
			want:   []Boot{{MAC: mac, Arch: efi, Start: t0, Outcome: BootFailed, ToKernel: 2 * time.Second, HasKernel: true}},
		},
		{
			name:   "DHCP and NBP only: stalled once old, running while young",
			events: []Event{dhcp(0), ev(1, KindTFTP, OK), dhcp(3000), ev(3001, KindTFTP, OK)},
			want: []Boot{
				{MAC: mac, Arch: efi, Start: t0, Outcome: BootStalled},
				{MAC: mac, Arch: efi, Start: t0.Add(3000 * time.Second), Outcome: BootRunning},
			},
		},
		{
			name: "the installer's own DHCP lease stays in its boot",
			events: []Event{dhcp(0), ev(2, KindAsset, OK), func() Event { e := dhcp(60); e.OSLease = true; return e }(),
				ev(61, KindFile, OK), ev(70, KindAsset, OK)},
			want: []Boot{{MAC: mac, Arch: efi, Start: t0, Outcome: BootOK, ToKernel: 2 * time.Second, HasKernel: true}},
		},
		{
			name:   "events before the first DHCP are no boot",
			events: []Event{ev(0, KindAsset, OK), ev(1, KindFile, Error)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Boots(tt.events, now)); diff != "" {
				t.Errorf("Boots (-want +got):\n%s", diff)
			}
		})
	}
}
