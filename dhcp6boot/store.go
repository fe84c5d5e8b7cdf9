package dhcp6boot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bootwright/bootwright/internal/groupcommit"
)

// leaseBucket is the DHCPv6 lease table in the lease database: beside
// dhcpboot's IPv4 table, keyed by the 16-byte address. A bootwright that
// knows no IPv6 leaves it alone.
var leaseBucket = []byte("leases6-v1")

// recordLen is the size of one stored lease, as dhcpboot stores IPv4
// leases: version, MAC, expiry (Unix nanoseconds), state.
const recordLen = 1 + 6 + 8 + 1

// LeaseDB persists full-mode DHCPv6 leases in the lease database file
// that dhcpboot.LeaseDB opened (leases.db), a table of their own in the
// same bbolt file. Writes group-commit as dhcpboot's do: a Reply that
// grants an address is sent only after the transaction holding its lease
// has been fsynced, so a restart or kill -9 never forgets an address.
//
// Its surface (commit, the leases read at open, Close) is dhcpboot's, so
// that the two tables can move behind one lease store together.
type LeaseDB struct {
	path   string
	loaded []leaseOp
	w      *groupcommit.Writer[[]leaseOp]
}

// OpenLeaseDB opens the DHCPv6 table in db (the file at path, for
// messages), creating it if needed, and reads every lease. A damaged
// record is an error naming path. The caller closes this LeaseDB before
// it closes db.
func OpenLeaseDB(db *bolt.DB, path string) (*LeaseDB, error) {
	if db == nil {
		return nil, errors.New("dhcpv6 lease database: no database file")
	}
	d := &LeaseDB{path: path}
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(leaseBucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			op, err := decodeLease(k, v)
			if err == nil {
				d.loaded = append(d.loaded, op)
			}
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("lease database %s: dhcpv6 table is damaged, refusing to start (restore it from a backup, "+
			"or move the file aside to start with no leases at the risk of duplicate addresses until clients renew): %w", path, err)
	}
	d.w = groupcommit.Start(db, groupcommit.Config[[]leaseOp]{Apply: d.write, MaxBatch: 4096,
		Name: "dhcpv6 lease table of " + path})
	return d, nil
}

func decodeLease(k, v []byte) (leaseOp, error) {
	if len(k) != 16 || len(v) != recordLen || v[0] != 1 {
		return leaseOp{}, fmt.Errorf("bad lease record %x=%x", k, v)
	}
	op := leaseOp{addr: netip.AddrFrom16([16]byte(k))}
	copy(op.mac[:], v[1:7])
	op.expiry = time.Unix(0, int64(binary.BigEndian.Uint64(v[7:15])))
	op.state = leaseState(v[15])
	if op.state != stateBound && op.state != stateDeclined {
		return leaseOp{}, fmt.Errorf("bad lease state %d for %s", op.state, op.addr)
	}
	return op, nil
}

func encodeLease(op leaseOp) []byte {
	v := make([]byte, recordLen)
	v[0] = 1
	copy(v[1:7], op.mac[:])
	binary.BigEndian.PutUint64(v[7:15], uint64(op.expiry.UnixNano()))
	v[15] = byte(op.state)
	return v
}

// Path returns the file the table lives in.
func (d *LeaseDB) Path() string { return d.path }

// Len returns how many leases were read at open.
func (d *LeaseDB) Len() int { return len(d.loaded) }

// commit queues ops; then runs once they are durable (nil) or failed.
// After Close, then runs at once with an error.
func (d *LeaseDB) commit(ops []leaseOp, then func(error)) { d.w.Submit(ops, then) }

// write applies a batch of requests' changes in one transaction.
func (d *LeaseDB) write(tx *bolt.Tx, batch [][]leaseOp) error {
	b := tx.Bucket(leaseBucket)
	for _, ops := range batch {
		for _, op := range ops {
			k := op.addr.As16()
			var err error
			if op.del {
				err = b.Delete(k[:])
			} else {
				err = b.Put(append([]byte(nil), k[:]...), encodeLease(op))
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Close writes what is queued. The database file stays open: its owner
// (dhcpboot.LeaseDB) closes it afterwards. A second Close does nothing.
func (d *LeaseDB) Close() error {
	d.w.Close()
	return nil
}
