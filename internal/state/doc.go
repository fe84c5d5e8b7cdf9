// Package state keeps what bootwright knows about machines across
// restarts: each MAC's first
// and last sighting, last address and arch, its install state, the config
// commit in service when it was last seen, and a timeline of boot events
// (DHCP decisions, TFTP transfers, HTTP fetches, installer callbacks).
//
// A Store decides what each event does to its machine and keeps what the
// boot path needs in memory; a Backend stores it: a bbolt file in the
// state directory (Open, OpenBolt), or a PostgreSQL database shared by
// replicas (package pgstore, a Shared backend). Over a shared backend the
// install state, revocations and bindings are read from the database, so
// an installer's callback to one replica changes what every replica
// serves, and events wait in a bounded queue while the database is down.
// The contract in statetest holds both backends to the same behaviour;
// Copy moves a store from one backend to the other.
//
// Events are written in batches by one goroutine, so recording never
// blocks a boot; install state changes are committed before the call
// returns. Old events are pruned by age and by count per machine.
package state
