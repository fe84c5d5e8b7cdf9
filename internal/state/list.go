package state

import "github.com/bootwright/bootwright/internal/hw"

// Filter picks the machines Recent lists. The zero Filter picks all.
type Filter struct {
	// SkipMAC, if set, leaves out the machines it accepts, by MAC alone.
	SkipMAC func(hw.MAC) bool
	// Keep, if set, lists only the machines it accepts. It needs every
	// machine decoded, which costs more than SkipMAC.
	Keep func(*Machine) bool
}
