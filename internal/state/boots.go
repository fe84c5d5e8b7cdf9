package state

import (
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// Boot outcomes, as the status page counts them.
const (
	BootOK      = "ok"      // reached its menu or kernel, and nothing failed after
	BootFailed  = "failed"  // a step failed, and no kernel was served after it
	BootStalled = "stalled" // neither, BootGap after it began: it stopped asking
	BootRunning = "running" // neither yet, and younger than BootGap
)

// BootGap is how far apart two events of one boot may be: a later event
// belongs to another boot, and a boot that has not reached its menu this
// long after it began has stalled.
const BootGap = 10 * time.Minute

// Boot is one network boot of a machine, from its first DHCP exchange to
// the step before its next one.
type Boot struct {
	MAC     hw.MAC
	Arch    hw.Arch // of its first event that names one
	Start   time.Time
	Outcome string // BootOK, BootFailed, BootStalled or BootRunning
	// ToKernel is the time from Start to the first kernel or other asset
	// served, when one was.
	ToKernel  time.Duration
	HasKernel bool
}

// Boots splits a machine's events (oldest first, as Events returns them)
// into its boots, judged as of now. A DHCP event for a network boot
// (Event.StartsBoot: not an installed system's or installer's own lease)
// begins a new boot when it
// follows a step past the NBP (menu, asset, answer file, callback, admin
// change) or comes more than BootGap after the event before: the second
// DHCP exchange of a chainload (firmware, then iPXE) stays in its boot.
// Events before the first DHCP event are not a boot bootwright saw begin,
// and are left out.
func Boots(events []Event, now time.Time) []Boot {
	var out []Boot
	var cur *boot
	for i, e := range events {
		if e.StartsBoot() && (cur == nil || pastNBP(events[i-1].Kind) || e.Time.Sub(events[i-1].Time) > BootGap) {
			if cur != nil {
				out = append(out, cur.end(now))
			}
			cur = &boot{Boot: Boot{MAC: e.MAC, Start: e.Time}}
		}
		if cur != nil {
			cur.add(e)
		}
	}
	if cur != nil {
		out = append(out, cur.end(now))
	}
	return out
}

// pastNBP says whether a step of kind comes after the NBP in a boot.
func pastNBP(kind string) bool {
	return kind != KindDHCP && kind != KindTFTP
}

// boot is a Boot being read from its events.
type boot struct {
	Boot
	reached bool // a menu or kernel served
	failed  bool // a step failed since the last kernel served
	last    time.Time
}

func (b *boot) add(e Event) {
	b.last = e.Time
	if b.Arch == 0 && e.Arch != 0 {
		b.Arch = e.Arch
	}
	switch {
	case e.Outcome != OK:
		b.failed = true
	case e.Kind == KindAsset:
		if !b.HasKernel {
			b.HasKernel, b.ToKernel = true, e.Time.Sub(b.Start)
		}
		b.reached, b.failed = true, false
	case e.Kind == KindMenu:
		b.reached = true
	}
}

func (b *boot) end(now time.Time) Boot {
	switch {
	case b.failed:
		b.Outcome = BootFailed
	case b.reached:
		b.Outcome = BootOK
	case now.Sub(b.Start) > BootGap:
		b.Outcome = BootStalled
	default:
		b.Outcome = BootRunning
	}
	return b.Boot
}
