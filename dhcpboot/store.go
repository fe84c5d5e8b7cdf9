package dhcpboot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/bootwright/bootwright/internal/groupcommit"
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

// LeaseDB persists full-mode leases in a bbolt file, one record per
// address. Writes go through one goroutine that group-commits: every
// change queued while the previous transaction was being synced to disk
// goes into the next transaction, and each waiting reply is sent only
// after the transaction that holds its lease has been fsynced. So an ACK
// never names a lease that a crash could lose, and the cost of fsync is
// shared by all the clients being answered at that moment.
type LeaseDB struct {
	path   string
	db     *bolt.DB
	loaded []leaseOp
	w      *groupcommit.Writer[[]leaseOp] // started by OpenLeaseDB
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
	// No linger: each request has a DHCP reply waiting on it, and what
	// queues while one transaction syncs is the next one's batch.
	d.w = groupcommit.Start(d.db, groupcommit.Config[[]leaseOp]{Apply: d.write, MaxBatch: maxBatch,
		Name: "lease database " + path})
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
			op, err := decodeLease(k, v)
			if err != nil {
				return corrupt(d.path, err)
			}
			d.loaded = append(d.loaded, op)
			return nil
		})
	})
}

func decodeLease(k, v []byte) (leaseOp, error) {
	if len(k) != 4 || len(v) != recordLen || v[0] != 1 {
		return leaseOp{}, fmt.Errorf("bad lease record %x=%x", k, v)
	}
	op := leaseOp{addr: netip.AddrFrom4([4]byte(k))}
	copy(op.mac[:], v[1:7])
	op.expiry = time.Unix(0, int64(binary.BigEndian.Uint64(v[7:15])))
	op.state = leaseState(v[15])
	if op.state != stateBound && op.state != stateDeclined {
		return leaseOp{}, fmt.Errorf("bad lease state %d for %s", op.state, op.addr)
	}
	return op, nil
}

func encodeLease(op leaseOp, v *[recordLen]byte) {
	v[0] = 1
	copy(v[1:7], op.mac[:])
	binary.BigEndian.PutUint64(v[7:15], uint64(op.expiry.UnixNano()))
	v[15] = byte(op.state)
}

// Path returns the file the database lives in.
func (d *LeaseDB) Path() string { return d.path }

// Bolt returns the open database file, for the tables that share it: the
// DHCPv6 leases (dhcp6boot.OpenLeaseDB) live in leases.db beside these.
func (d *LeaseDB) Bolt() *bolt.DB { return d.db }

// Len returns how many leases were read at open.
func (d *LeaseDB) Len() int { return len(d.loaded) }

// commit queues ops; then runs once they are durable (nil) or failed,
// from the committing goroutine. After Close, then runs at once with an
// error.
func (d *LeaseDB) commit(ops []leaseOp, then func(error)) {
	d.w.Submit(ops, then)
}

// write applies a batch of requests' changes in one transaction; bbolt
// fsyncs before the transaction returns.
func (d *LeaseDB) write(tx *bolt.Tx, batch [][]leaseOp) error {
	b := tx.Bucket(leaseBucket)
	// bbolt keeps references to keys and values until the commit, so
	// each gets its own bytes: one allocation for the whole batch.
	n := 0
	for _, ops := range batch {
		n += len(ops)
	}
	buf := make([]byte, n*(4+recordLen))
	for _, ops := range batch {
		for _, op := range ops {
			k, v := buf[:4:4], (*[recordLen]byte)(buf[4:4+recordLen])
			buf = buf[4+recordLen:]
			a := op.addr.As4()
			copy(k, a[:])
			var err error
			if op.del {
				err = b.Delete(k)
			} else {
				encodeLease(op, v)
				err = b.Put(k, v[:])
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Close writes what is queued and closes the file. The server using d
// must have stopped first. A second Close does nothing.
func (d *LeaseDB) Close() error {
	d.w.Close()
	return d.db.Close() // nil when already closed
}
