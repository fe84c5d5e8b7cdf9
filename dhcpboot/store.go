package dhcpboot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/bootwright/bootwright/internal/groupcommit"
	"github.com/bootwright/bootwright/internal/lease"
)

// LeaseFileName is the lease database's name inside the state directory.
const LeaseFileName = "leases.db"

var leaseBucket = []byte("leases-v1")

// recordLen is the size of one stored lease: version, MAC, expiry (Unix
// nanoseconds), state.
const recordLen = 1 + 6 + 8 + 1

// maxBatch bounds how many requests (each one or two lease changes) go
// into one transaction.
const maxBatch = 4096

// LeaseDB is the embedded lease.Store: full-mode leases in a bbolt file,
// one record per address, and every lease (offers too, which are never
// written) in memory, against which each claim is decided. Durable
// changes go through one goroutine that group-commits: every change
// queued while the previous transaction was being synced to disk goes
// into the next transaction, and each waiting reply is sent only after
// the transaction that holds its lease has been fsynced. So an ACK never
// names a lease that a crash could lose, and the cost of fsync is shared
// by all the clients being answered at that moment. Offers and their
// cancellations are decided at once, without the disk.
type LeaseDB struct {
	path   string
	db     *bolt.DB
	loaded []lease.Lease
	w      *groupcommit.Writer[*leaseReq] // started by OpenLeaseDB

	mu      sync.Mutex
	held    map[netip.Addr]lease.Lease  // every lease, as committed
	pending map[netip.Addr]*lease.Lease // the batch being written (writer goroutine); nil: freed
}

// leaseReq is one request's ops and, once decided, why they were refused.
type leaseReq struct {
	ops []lease.Op
	err error
}

// OpenLeaseDB opens (creating if needed) the lease database at path, checks
// every page and reads every lease. A file that is not a lease database,
// is damaged, or is held by another running bootwright is an error naming
// path: starting without the leases it held could hand a live client's
// address to another.
func OpenLeaseDB(path string) (*LeaseDB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("lease database: %w", err)
	}
	d, err := openLeaseDB(path)
	if err != nil {
		return nil, err
	}
	d.held = make(map[netip.Addr]lease.Lease, len(d.loaded))
	for _, l := range d.loaded {
		d.held[l.Addr] = l
	}
	// No linger: each request has a DHCP reply waiting on it, and what
	// queues while one transaction syncs is the next one's batch.
	d.w = groupcommit.Start(d.db, groupcommit.Config[*leaseReq]{Apply: d.write, After: d.written,
		MaxBatch: maxBatch, Name: "lease database " + path})
	return d, nil
}

// openLeaseDB opens and checks the file. bbolt panics on some damaged
// pages; the panic is turned into the error it is. (The freelist is synced
// to the file, the default: with NoFreelistSync, bbolt rebuilds it on open
// by walking every page in a goroutine of its own, where a damaged page
// panics beyond any recover.)
func openLeaseDB(path string) (d *LeaseDB, err error) {
	var db *bolt.DB
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(path, fmt.Errorf("%v", r))
		}
		if err != nil && db != nil {
			db.Close()
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("lease database %s is in use by another process", path)
	}
	if err != nil {
		return nil, corrupt(path, err)
	}
	d = &LeaseDB{path: path, db: db}
	return d, d.load()
}

func corrupt(path string, err error) error {
	return fmt.Errorf("lease database %s is damaged, refusing to start (restore it from a backup, or move it "+
		"aside to start with no leases at the risk of duplicate addresses until clients renew): %w", path, err)
}

// load checks the file and reads all leases into d.loaded.
func (d *LeaseDB) load() error {
	return d.db.Update(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return corrupt(d.path, err)
		}
		b, err := tx.CreateBucketIfNotExists(leaseBucket)
		if err != nil {
			return corrupt(d.path, err)
		}
		return b.ForEach(func(k, v []byte) error {
			l, err := decodeLease(k, v)
			if err != nil {
				return corrupt(d.path, err)
			}
			d.loaded = append(d.loaded, l)
			return nil
		})
	})
}

func decodeLease(k, v []byte) (lease.Lease, error) {
	if len(k) != 4 || len(v) != recordLen || v[0] != 1 {
		return lease.Lease{}, fmt.Errorf("bad lease record %x=%x", k, v)
	}
	l := lease.Lease{Addr: netip.AddrFrom4([4]byte(k))}
	copy(l.MAC[:], v[1:7])
	l.Expiry = time.Unix(0, int64(binary.BigEndian.Uint64(v[7:15])))
	l.State = lease.State(v[15])
	if l.State != lease.Bound && l.State != lease.Declined {
		return lease.Lease{}, fmt.Errorf("bad lease state %d for %s", l.State, l.Addr)
	}
	return l, nil
}

func encodeLease(l lease.Lease, v *[recordLen]byte) {
	v[0] = 1
	copy(v[1:7], l.MAC[:])
	binary.BigEndian.PutUint64(v[7:15], uint64(l.Expiry.UnixNano()))
	v[15] = byte(l.State)
}

// Path returns the file the database lives in.
func (d *LeaseDB) Path() string { return d.path }

// Bolt returns the open database file, for the tables that share it: the
// DHCPv6 leases (dhcp6boot.OpenLeaseDB) live in leases.db beside these.
func (d *LeaseDB) Bolt() *bolt.DB { return d.db }

// Len returns how many leases were read at open.
func (d *LeaseDB) Len() int { return len(d.loaded) }

// Leases returns the leases read at open.
func (d *LeaseDB) Leases() []lease.Lease { return d.loaded }

// Down is always nil: a local file is never unreachable (a failed write
// fails its own request).
func (d *LeaseDB) Down() error { return nil }

// Commit decides ops and, if any must be durable, writes them before then
// runs; see lease.Store. After Close, then runs at once with an error.
func (d *LeaseDB) Commit(ops []lease.Op, then func(error)) {
	for _, op := range ops {
		if op.Kind.Durable() {
			r := &leaseReq{ops: ops}
			d.w.Submit(r, func(err error) {
				if err == nil {
					err = r.err
				}
				then(err)
			})
			return
		}
	}
	d.mu.Lock()
	err := d.decide(ops, func(a netip.Addr) *lease.Lease {
		if l, ok := d.held[a]; ok {
			return &l
		}
		return nil
	}, func(a netip.Addr, l *lease.Lease) {
		if l == nil {
			delete(d.held, a)
		} else {
			d.held[a] = *l
		}
	})
	d.mu.Unlock()
	then(err)
}

// decide applies one request's ops, all or none: get returns the lease an
// address holds, set records the outcome of each op that writes.
func (d *LeaseDB) decide(ops []lease.Op, get func(netip.Addr) *lease.Lease, set func(netip.Addr, *lease.Lease)) error {
	now := time.Now()
	type change struct {
		addr netip.Addr
		l    *lease.Lease
	}
	var changes []change
	seen := map[netip.Addr]*lease.Lease{}
	for _, op := range ops {
		cur, ok := seen[op.Addr]
		if !ok {
			cur = get(op.Addr)
		}
		next, write, allowed := op.Apply(cur, now)
		if !allowed {
			ce := &lease.ConflictError{Op: op}
			if cur != nil {
				ce.Holder = *cur
			}
			return ce
		}
		if write {
			seen[op.Addr] = next
			changes = append(changes, change{op.Addr, next})
		}
	}
	for _, c := range changes {
		set(c.addr, c.l)
	}
	return nil
}

// write decides a batch of requests in order and writes their durable
// changes in one transaction; bbolt fsyncs before the transaction
// returns. Each request's refusal, if any, is left in its err.
func (d *LeaseDB) write(tx *bolt.Tx, batch []*leaseReq) error {
	b := tx.Bucket(leaseBucket)
	d.pending = map[netip.Addr]*lease.Lease{}
	get := func(a netip.Addr) *lease.Lease {
		if l, ok := d.pending[a]; ok {
			return l
		}
		if l, ok := d.held[a]; ok {
			return &l
		}
		return nil
	}
	d.mu.Lock()
	for _, r := range batch {
		r.err = d.decide(r.ops, get, func(a netip.Addr, l *lease.Lease) { d.pending[a] = l })
	}
	d.mu.Unlock()
	// bbolt keeps references to keys and values until the commit, so
	// each gets its own bytes: one allocation for the whole batch.
	buf := make([]byte, len(d.pending)*(4+recordLen))
	for a, l := range d.pending {
		k, v := buf[:4:4], (*[recordLen]byte)(buf[4:4+recordLen])
		buf = buf[4+recordLen:]
		a4 := a.As4()
		copy(k, a4[:])
		var err error
		if l == nil || l.State == lease.Offered {
			err = b.Delete(k) // offers are never written
		} else {
			encodeLease(*l, v)
			err = b.Put(k, v[:])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// written makes a committed batch's changes what every later claim is
// decided against.
func (d *LeaseDB) written(_ []*leaseReq, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		for a, l := range d.pending {
			if l == nil {
				delete(d.held, a)
			} else {
				d.held[a] = *l
			}
		}
	}
	d.pending = nil
}

// Close writes what is queued and closes the file. The server using d
// must have stopped first. A second Close does nothing.
func (d *LeaseDB) Close() error {
	d.w.Close()
	return d.db.Close() // nil when already closed
}

var _ lease.Store = (*LeaseDB)(nil)
