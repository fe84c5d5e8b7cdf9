// Package state keeps what bootwright knows about machines across
// restarts, in a bbolt file under the state directory: each MAC's first
// and last sighting, last address and arch, its install state, the config
// commit in service when it was last seen, and a timeline of boot events
// (DHCP decisions, TFTP transfers, HTTP fetches, installer callbacks).
//
// Events are written in batches by one goroutine, so recording never
// blocks a boot; install state changes are committed before the call
// returns. Old events are pruned by age and by count per machine.
package state
