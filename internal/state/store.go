package state

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

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

var (
	bucketMachines = []byte("machines")
	bucketEvents   = []byte("events")
	bucketMeta     = []byte("meta")
	keySecret      = []byte("secret")
)

// Store is the machine and event store. Open it with Open.
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

	db      *bolt.DB
	secret  []byte
	w       *groupcommit.Writer[Event] // started by Open
	updated []Machine                  // machines as write left them, for committed (writer goroutine only)
	seq     atomic.Uint32
	dropped atomic.Uint64

	subMu sync.Mutex
	subs  map[chan Event]struct{}

	ipMAC  sync.Map // netip.Addr -> hw.MAC last seen there, for requests without a MAC
	binds  bindings // what DHCP bound, for answer-file access
	states sync.Map // hw.MAC -> machineInfo, as last committed

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

// Open opens (creating if needed) the store at path. A damaged file is an
// error naming the path; the caller should refuse to start.
func Open(path string) (s *Store, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	var db *bolt.DB
	defer func() {
		// bbolt panics on some damaged pages.
		if r := recover(); r != nil {
			err = fmt.Errorf("state store %s: %w: %v", path, ErrDamaged, r)
		}
		if err != nil && db != nil {
			db.Close()
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("state store %s: %w", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("state store %s: %w", path, err)
	}
	s = &Store{db: db, subs: map[chan Event]struct{}{}}
	if err := s.init(); err != nil {
		return nil, fmt.Errorf("state store %s: %w", path, err)
	}
	s.w = groupcommit.Start(db, groupcommit.Config[Event]{Apply: s.write, After: s.committed,
		MaxBatch: 512, Queue: 4096, Linger: eventLinger})
	return s, nil
}

// init creates the buckets and the HMAC secret.
func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMachines, bucketEvents, bucketMeta, bucketBindings} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		err := tx.Bucket(bucketMachines).ForEach(func(k, v []byte) error {
			var m Machine
			if json.Unmarshal(v, &m) == nil {
				s.states.Store(m.MAC, machineInfo{m.State, m.RevokedBefore})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := s.loadBindings(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if sec := meta.Get(keySecret); len(sec) == 32 {
			s.secret = append([]byte(nil), sec...)
			return nil
		}
		s.secret = make([]byte, 32)
		rand.Read(s.secret)
		return meta.Put(keySecret, s.secret)
	})
}

// Secret is a random key kept in the store, for per-machine tokens.
func (s *Store) Secret() []byte { return s.secret }

// SetDegraded records why the store runs somewhere it should not (a
// temporary directory standing in for an unusable state directory).
func (s *Store) SetDegraded(why string) {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	s.degraded = why
}

// Health returns what is wrong with the store, if anything: the degraded
// reason, or the last write that failed (a full disk) until a write
// succeeds again.
func (s *Store) Health() error {
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

// StateOf returns mac's install state as last committed, from memory;
// "" for a MAC never seen.
func (s *Store) StateOf(mac hw.MAC) string {
	if v, ok := s.states.Load(mac); ok {
		return v.(machineInfo).state
	}
	return ""
}

// MACFor returns the MAC last seen at ip (from a DHCP lease or a request
// naming its MAC), so that requests without a MAC in the URL, such as a
// kernel download, can be tied to their machine.
func (s *Store) MACFor(ip netip.Addr) (hw.MAC, bool) {
	v, ok := s.ipMAC.Load(ip.Unmap())
	if !ok {
		return hw.MAC{}, false
	}
	return v.(hw.MAC), true
}

// Dropped counts events dropped because the write queue was full.
func (s *Store) Dropped() uint64 { return s.dropped.Load() }

// Close flushes queued events and closes the file. A second Close does
// nothing.
func (s *Store) Close() error {
	s.w.Close()
	s.saveClock()       // best effort: a failure only weakens the clock's memory
	return s.db.Close() // nil when already closed
}
