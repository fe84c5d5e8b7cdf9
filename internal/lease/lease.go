package lease

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// State is what a lease is for.
type State uint8

// Lease states. Their values are stored: never renumber them.
const (
	Offered  State = 1 // held for the client's REQUEST; not durable
	Bound    State = 2 // granted (ACKed); durable before the ACK is sent
	Declined State = 3 // a client found the address in use (DHCPDECLINE)
)

// String returns "offered", "bound" or "declined".
func (s State) String() string {
	switch s {
	case Offered:
		return "offered"
	case Bound:
		return "bound"
	case Declined:
		return "declined"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Valid reports whether s is one of the states.
func (s State) Valid() bool { return s >= Offered && s <= Declined }

// Lease is one address held by one client until Expiry.
type Lease struct {
	Addr   netip.Addr
	MAC    hw.MAC
	Expiry time.Time
	State  State
}

// Live reports whether l still holds its address at now.
func (l Lease) Live(now time.Time) bool { return l.Expiry.After(now) }

// Kind is what an Op does.
type Kind uint8

// Op kinds.
const (
	Offer   Kind = iota + 1 // hold Addr for MAC until Expiry, for its REQUEST
	Bind                    // grant Addr to MAC until Expiry
	Decline                 // set Addr aside until Expiry: MAC, its holder, found it in use
	Release                 // MAC gives Addr up (its offer or its lease)
	Cancel                  // MAC took another server's offer: forget ours
)

var kindNames = [...]string{"", "offer", "bind", "decline", "release", "cancel"}

// String returns the kind's name.
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Durable reports whether a store must have written an op of this kind
// to disk before its Commit reports success: offers and their
// cancellations only need to be seen by other offers.
func (k Kind) Durable() bool { return k == Bind || k == Decline || k == Release }

// Op is one change to the lease of Op.Addr. Expiry is used by Offer, Bind
// and Decline.
type Op struct {
	Kind   Kind
	Addr   netip.Addr
	MAC    hw.MAC
	Expiry time.Time
	// Takeover lets an Offer take an address another client holds only
	// as an offer (a pool full of offers to made-up MACs; RFC 2131
	// 4.3.1 lets a server re-use an offered address).
	Takeover bool
}

// state is the lease state an op leaves behind, if it writes one.
func (op Op) state() State {
	switch op.Kind {
	case Offer:
		return Offered
	case Bind:
		return Bound
	case Decline:
		return Declined
	}
	return 0
}

// Apply decides op against cur, the lease held for op.Addr at now (nil:
// none). It returns the lease to keep (nil: the address is free), whether
// that changes anything, and whether op may be made at all: Offer and Bind
// are claims, refused when the address is another live client's (or, for
// Bind and Offer, one its own client declined); Decline, Release and Cancel
// by a client that does not hold the address change nothing, and are not
// refused. Every store decides by this rule (PostgreSQL in SQL); the
// contract tests hold them to it.
func (op Op) Apply(cur *Lease, now time.Time) (next *Lease, write, ok bool) {
	live := cur != nil && cur.Live(now)
	own := live && cur.MAC == op.MAC
	mine := &Lease{Addr: op.Addr, MAC: op.MAC, Expiry: op.Expiry, State: op.state()}
	switch op.Kind {
	case Offer:
		switch {
		case !live, own && cur.State == Offered, cur.State == Offered && op.Takeover:
			return mine, true, true
		case own && cur.State == Bound:
			return cur, false, true // its lease stands; the offer repeats it
		}
		return cur, false, false
	case Bind:
		if !live || own && cur.State != Declined {
			return mine, true, true
		}
		return cur, false, false
	case Decline:
		if own && cur.State != Declined {
			return mine, true, true
		}
	case Release:
		if own && cur.State != Declined {
			return nil, true, true
		}
	case Cancel:
		if own && cur.State == Offered {
			return nil, true, true
		}
	}
	return cur, false, true
}

// ErrUnavailable is wrapped by Commit's error when the store cannot be
// reached: nothing of the request was written.
var ErrUnavailable = errors.New("lease store unavailable")

// ConflictError is a claim refused because another client holds the
// address.
type ConflictError struct {
	Op     Op
	Holder Lease // the lease that stands; its State is 0 when unknown
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s of %s to %s refused: %s holds it (%s until %s)", e.Op.Kind, e.Op.Addr, e.Op.MAC,
		e.Holder.MAC, e.Holder.State, e.Holder.Expiry.UTC().Format(time.RFC3339))
}

// Store keeps leases. Commit applies the ops of one request all or none,
// in order, each decided by Op.Apply against what the store holds (which
// may be newer than what the caller believed: another replica's lease),
// then calls then once: nil when the durable ops are on disk, a
// *ConflictError when a claim was refused, another error (wrapping
// ErrUnavailable when the store is down) when nothing could be written.
// then may run before Commit returns, or on another goroutine; it must
// not call Commit on the same goroutine and wait.
type Store interface {
	// Leases returns the leases held when the store was opened.
	Leases() []Lease
	Commit(ops []Op, then func(error))
	// Down returns why new leases cannot be granted now (the database is
	// unreachable), or nil.
	Down() error
	// Close writes what is queued and releases the store.
	Close() error
}
