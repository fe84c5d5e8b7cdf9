package state

import (
	"errors"
	"net/netip"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// Backend is where a Store keeps machines, events and bindings: a bbolt
// file in the state directory (Open), or a PostgreSQL database shared by
// replicas (package pgstore). The Store decides what an event does to its
// machine; a Backend only reads and writes, so both behave alike, which
// the contract tests in statetest check.
type Backend interface {
	// Load returns what the Store keeps in memory from the start.
	Load(now time.Time) (Snapshot, error)
	// Update runs fn in one transaction; an error from fn rolls it back.
	Update(fn func(Tx) error) error
	// Machine returns one machine, or an error wrapping
	// ErrUnknownMachine.
	Machine(mac hw.MAC) (Machine, error)
	// Machines returns every machine, in any order.
	Machines() ([]Machine, error)
	// Lookup returns the machines among macs that are stored.
	Lookup(macs []hw.MAC) (map[hw.MAC]Machine, error)
	// Recent is Store.Recent.
	Recent(limit int, f Filter) ([]Machine, int, error)
	// Events returns mac's latest events, oldest first, at most limit
	// (0: all).
	Events(mac hw.MAC, limit int) ([]Event, error)
	// Prune deletes old and excess events, ended bindings and forgotten
	// machines by lim; it returns how many events it deleted and which
	// machines it forgot.
	Prune(now time.Time, lim Limits) (int, []hw.MAC, error)
	// SaveClock keeps t as the clock's high-water mark, unless a later
	// one is kept already.
	SaveClock(t time.Time) error
	// All calls fn with every machine, binding and event, for a copy to
	// another backend.
	All(fn func(Item) error) error
	Close() error
}

// Tx is one transaction of a Backend.
type Tx interface {
	// Machines returns the stored machines among macs. A shared backend
	// holds them (and any not yet stored) against other writers until
	// the transaction ends, so that two replicas never apply events to
	// one machine at once. It is called at most once per transaction.
	Machines(macs []hw.MAC) (map[hw.MAC]Machine, error)
	PutMachine(m Machine) error
	AddEvent(e Event) error
	PutBinding(mac hw.MAC, b Binding) error
	// PutSecret replaces the token key (an import from another backend).
	PutSecret(secret []byte) error
}

// Snapshot is what a Store reads from its backend when it starts.
type Snapshot struct {
	Infos    map[hw.MAC]Info // every machine's install state and revocation
	Bindings []MACBinding    // the live ones, at most one per MAC and family, in any order
	Secret   []byte          // the token key: 32 random bytes, made by the first Load
	Clock    time.Time       // the latest time any Store on this backend returned
}

// Info is what a Store keeps in memory about a machine, for decisions on
// the boot path.
type Info struct {
	State         string
	RevokedBefore time.Time
	Bindings      []SharedBinding // at most one per address family
}

// SharedBinding is a binding as a shared backend holds it.
type SharedBinding struct {
	Binding
	// Superseded says another MAC was bound to the binding's address
	// since: the binding has ended.
	Superseded bool
}

// Limits bound what Prune keeps; zero values mean the Store's defaults.
type Limits struct {
	MaxAge        time.Duration
	MaxPerMachine int
	MaxMachines   int
}

// Item is one record of a backend, for All and Import: exactly one of
// its fields is set.
type Item struct {
	Machine *Machine
	Event   *Event
	Binding *MACBinding
	Secret  []byte
}

// MACBinding is a binding with its MAC.
type MACBinding struct {
	MAC hw.MAC
	Binding
}

// Shared is what a backend shared by replicas adds: reads that see the
// other replicas' writes at once, and the replicas themselves.
type Shared interface {
	Backend
	// Info reads mac's install state, revocation and binding now.
	Info(mac hw.MAC) (Info, error)
	// MACAt returns the machine last seen at ip, by any replica.
	MACAt(ip netip.Addr) (hw.MAC, bool, error)
	// Now is the shared clock: the database's, as this replica reckons
	// it, so that tokens, revocations and leases agree across replicas.
	Now() time.Time
	// Down returns why the backend cannot be reached, or nil.
	Down() error
	// Replica is this replica's name, recorded with its events.
	Replica() string
	// Replicas lists every replica with its last heartbeat.
	Replicas() ([]Replica, error)
}

// Replica is one bootwright serving from a shared backend.
type Replica struct {
	ID        string    `json:"id"`
	Hostname  string    `json:"hostname"`
	Address   string    `json:"address"`
	Version   string    `json:"version"`
	Commit    string    `json:"commit"` // config commit in service
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
	// ClockOffset is how far this replica's clock was from the
	// database's at its last heartbeat.
	ClockOffset time.Duration `json:"clock_offset_ns"`
	Live        bool          `json:"live"` // its heartbeat is recent
	Self        bool          `json:"self"` // the replica answering
	// Sharing says the replica answering counts this one among those
	// sharing full-mode DHCP clients, as of its last heartbeat.
	Sharing bool `json:"dhcp_sharing"`
}

// ErrUnavailable is wrapped by the errors of a shared backend that
// cannot be reached; a Store keeps its events queued until it comes back.
var ErrUnavailable = errors.New("state database unavailable")
