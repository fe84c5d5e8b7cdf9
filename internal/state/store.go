package state

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bootwright/bootwright/internal/groupcommit"
	"github.com/bootwright/bootwright/internal/hw"
)

// Errors Open returns that must stop a server rather than let it run on
// without its state.
var (
	ErrInUse   = errors.New("in use by another process")
	ErrDamaged = errors.New("damaged")
)

// FileName is the store's file in the state directory.
const FileName = "state.db"

// Store is the machine and event store, over a Backend. Open it with Open
// (bbolt in the state directory) or New.
type Store struct {
	// MaxAge and MaxPerMachine bound the events kept; zero means 30 days
	// and 1000. Set them before the first Prune.
	MaxAge        time.Duration
	MaxPerMachine int
	// MaxMachines bounds the discovered machines (never listed, never
	// installed) kept; zero means 10000. Listed ones are always kept.
	MaxMachines int
	// Observe, if set, is called for every event after it is applied to
	// its machine (from the writer goroutine), with the machine as updated.
	Observe func(Event, Machine)
	Logger  *slog.Logger

	b       Backend
	shared  Shared // b, when replicas share it; nil for a local file
	secret  []byte
	w       *groupcommit.Writer[Event] // started by New
	updated []Machine                  // machines as write left them, for committed (writer goroutine only)
	dropped atomic.Uint64

	subMu sync.Mutex
	subs  map[chan Event]struct{}

	ipMAC  sync.Map // netip.Addr -> hw.MAC last seen there, for requests without a MAC
	binds  bindings // what DHCP bound, for answer-file access
	states sync.Map // hw.MAC -> machineInfo, as last committed or read

	clockMu sync.Mutex
	clock   time.Time // the latest time Now returned

	dupMu sync.Mutex
	last  map[hw.MAC]lastEvent // each MAC's latest event

	healthMu sync.Mutex
	degraded string // why the store is not where it should be
	writeErr error  // the last failed write, until one succeeds
}

// lastEvent is what a repeat is compared with: a client looping on its
// menu makes one event a second, not thousands.
type lastEvent struct {
	kind, outcome, detail string
	at                    time.Time
}

// dupWindow is how long an identical event is not recorded again.
const dupWindow = time.Second

// eventLinger is how long a batch of events stays open for more. Group
// commit alone batches under load, but a steady trickle (a few machines
// fetching menus, kernels and files) would then cost one fsync per event,
// back to back, on the disk where the lease store fsyncs before each DHCP
// ACK. Nobody waits on an event, so holding a batch open for 100ms (as
// the store's writer did before group commit) costs only that much delay
// before observers hear of it, and keeps this store under ten fsyncs a
// second until batches fill.
const eventLinger = 100 * time.Millisecond

// Queue bounds: events waiting for the writer. A shared database may be
// unreachable for a while (a restart, a failover); its events wait for it
// in a larger queue, and the excess is dropped and counted.
const (
	LocalQueue  = 4096
	SharedQueue = 65536
)

// Open opens (creating if needed) the store in the bbolt file at path. A
// damaged file is an error naming the path; the caller should refuse to
// start.
func Open(path string) (*Store, error) {
	b, err := OpenBolt(path)
	if err != nil {
		return nil, err
	}
	s, err := New(b)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("state store %s: %w", path, err)
	}
	return s, nil
}

// New returns a Store over b, which it closes on Close. A backend that
// implements Shared makes a store whose reads see the other replicas'
// writes and whose events wait out an outage of the database.
func New(b Backend) (*Store, error) {
	s := &Store{b: b, subs: map[chan Event]struct{}{}}
	s.shared, _ = b.(Shared)
	snap, err := b.Load(s.wallNow())
	if err != nil {
		return nil, err
	}
	for mac, in := range snap.Infos {
		s.states.Store(mac, machineInfo{in.State, in.RevokedBefore})
	}
	// Oldest first: when an address moved from one machine to another,
	// the record of its former holder may still be there, and the newer
	// binding must be the one that holds.
	slices.SortStableFunc(snap.Bindings, func(a, b MACBinding) int { return a.Since.Compare(b.Since) })
	for _, mb := range snap.Bindings {
		s.binds.set(mb.MAC, mb.Binding)
	}
	s.secret, s.clock = snap.Secret, snap.Clock
	cfg := groupcommit.Config[Event]{After: s.committed, MaxBatch: 512, Queue: LocalQueue, Linger: eventLinger,
		Commit: func(batch []Event) error { return b.Update(func(tx Tx) error { return s.write(tx, batch) }) }}
	if s.shared != nil {
		cfg.Queue, cfg.Retry = SharedQueue, s.retry
	}
	s.w = groupcommit.New(cfg)
	return s, nil
}

// retry keeps a batch of events while the shared database is down.
func (s *Store) retry(err error) time.Duration {
	if !errors.Is(err, ErrUnavailable) {
		return 0
	}
	s.healthMu.Lock()
	s.writeErr = err
	s.healthMu.Unlock()
	return time.Second
}

// Secret is a random key kept in the store, for per-machine tokens.
func (s *Store) Secret() []byte { return s.secret }

// Backend returns the backend the store is over.
func (s *Store) Backend() Backend { return s.b }

// Replica is the name this replica records with its events; "" for a
// store of its own.
func (s *Store) Replica() string {
	if s.shared == nil {
		return ""
	}
	return s.shared.Replica()
}

// Replicas lists the replicas sharing the store's database, or none.
func (s *Store) Replicas() ([]Replica, error) {
	if s.shared == nil {
		return nil, nil
	}
	return s.shared.Replicas()
}

// SetDegraded records why the store runs somewhere it should not (a
// temporary directory standing in for an unusable state directory).
func (s *Store) SetDegraded(why string) {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	s.degraded = why
}

// Health returns what is wrong with the store, if anything: the degraded
// reason, a shared database that cannot be reached, or the last write
// that failed (a full disk) until a write succeeds again.
func (s *Store) Health() error {
	if s.shared != nil {
		if err := s.shared.Down(); err != nil {
			return fmt.Errorf("%w; %d events wait to be written", err, s.Queued())
		}
	}
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	if s.degraded != "" {
		return errors.New(s.degraded)
	}
	if s.writeErr != nil {
		return fmt.Errorf("state store: last write failed: %w", s.writeErr)
	}
	return nil
}

// info returns mac's install state and revocation: read from the shared
// database when it can be reached (another replica may have changed
// them), else as this replica last knew them.
func (s *Store) info(mac hw.MAC) (machineInfo, bool) {
	if s.shared != nil && s.shared.Down() == nil {
		if in, err := s.shared.Info(mac); err == nil {
			mi := machineInfo{in.State, in.RevokedBefore}
			if in.State != "" {
				s.states.Store(mac, mi)
			}
			for _, sb := range in.Bindings {
				s.binds.merge(mac, sb.Binding, sb.Superseded)
			}
			return mi, in.State != ""
		}
	}
	v, ok := s.states.Load(mac)
	if !ok {
		return machineInfo{}, false
	}
	return v.(machineInfo), true
}

// StateOf returns mac's install state; "" for a MAC never seen.
func (s *Store) StateOf(mac hw.MAC) string {
	in, _ := s.info(mac)
	return in.state
}

// MACFor returns the MAC last seen at ip (from a DHCP lease or a request
// naming its MAC), so that requests without a MAC in the URL, such as a
// kernel download, can be tied to their machine. Replicas ask the
// database for an address they have not seen themselves.
func (s *Store) MACFor(ip netip.Addr) (hw.MAC, bool) {
	ip = ip.Unmap()
	if v, ok := s.ipMAC.Load(ip); ok {
		return v.(hw.MAC), true
	}
	if s.shared != nil && s.shared.Down() == nil {
		if mac, ok, err := s.shared.MACAt(ip); err == nil && ok {
			s.ipMAC.Store(ip, mac)
			return mac, true
		}
	}
	return hw.MAC{}, false
}

// Dropped counts events dropped because the write queue was full.
func (s *Store) Dropped() uint64 { return s.dropped.Load() }

// Queued counts events waiting to be written.
func (s *Store) Queued() int { return s.w.Queued() }

// Close flushes queued events and closes the backend. A second Close
// does nothing.
func (s *Store) Close() error {
	s.w.Close()
	s.saveClock()      // best effort: a failure only weakens the clock's memory
	return s.b.Close() // nil when already closed
}
