package state

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/bootwright/bootwright/internal/hw"
)

var (
	bucketMachines = []byte("machines")
	bucketEvents   = []byte("events")
	bucketMeta     = []byte("meta")
	bucketBindings = []byte("bindings")
	keySecret      = []byte("secret")
	keyClock       = []byte("clock")
)

// boltBackend keeps the store in one bbolt file: machines by MAC, events
// by MAC and time, bindings by MAC and family (see bindingKey), and the
// secret and clock.
type boltBackend struct {
	db  *bolt.DB
	seq atomic.Uint32 // keeps events of equal times apart
}

// OpenBolt opens (creating if needed) the bbolt backend at path. A damaged
// file is an error naming the path wrapping ErrDamaged, a file another
// process holds one wrapping ErrInUse.
func OpenBolt(path string) (b Backend, err error) {
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
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMachines, bucketEvents, bucketMeta, bucketBindings} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state store %s: %w", path, err)
	}
	return &boltBackend{db: db}, nil
}

func (b *boltBackend) Load(now time.Time) (Snapshot, error) {
	snap := Snapshot{Infos: map[hw.MAC]Info{}}
	err := b.db.Update(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketMachines).ForEach(func(k, v []byte) error {
			var m Machine
			if json.Unmarshal(v, &m) == nil {
				snap.Infos[m.MAC] = Info{State: m.State, RevokedBefore: m.RevokedBefore}
			}
			return nil
		})
		if err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyClock); len(v) == 8 {
			snap.Clock = time.Unix(0, int64(binary.BigEndian.Uint64(v)))
		}
		if snap.Clock.After(now) {
			now = snap.Clock
		}
		eachBinding(tx, func(mb MACBinding) error {
			if now.Before(mb.Until) { // expired: Prune deletes it
				snap.Bindings = append(snap.Bindings, mb)
			}
			return nil
		})
		if sec := meta.Get(keySecret); len(sec) == 32 {
			snap.Secret = append([]byte(nil), sec...)
			return nil
		}
		snap.Secret = make([]byte, 32)
		rand.Read(snap.Secret)
		return meta.Put(keySecret, snap.Secret)
	})
	return snap, err
}

func (b *boltBackend) Update(fn func(Tx) error) error {
	return b.db.Update(func(tx *bolt.Tx) error { return fn(boltTx{tx, b}) })
}

// boltTx is a Tx over one bbolt transaction; bbolt has one writer at a
// time, so Machines needs no lock.
type boltTx struct {
	tx *bolt.Tx
	b  *boltBackend
}

func (t boltTx) Machines(macs []hw.MAC) (map[hw.MAC]Machine, error) {
	return lookup(t.tx.Bucket(bucketMachines), macs)
}

func (t boltTx) PutMachine(m Machine) error {
	v, _ := json.Marshal(m)
	return t.tx.Bucket(bucketMachines).Put(machineKey(m.MAC), v)
}

func (t boltTx) AddEvent(e Event) error {
	v, _ := json.Marshal(e)
	return t.tx.Bucket(bucketEvents).Put(t.b.eventKey(e), v)
}

func (t boltTx) PutBinding(mac hw.MAC, bd Binding) error {
	v, _ := json.Marshal(bd)
	return t.tx.Bucket(bucketBindings).Put(bindingKey(mac, bd.Addr), v)
}

// bindingKey is the stored key of a binding: the MAC for IPv4, the MAC
// and "/6" for IPv6 (a bootwright that knows no IPv6 skips such keys).
func bindingKey(mac hw.MAC, addr netip.Addr) []byte {
	if keyOf(mac, addr).v6 {
		return []byte(mac.String() + "/6")
	}
	return machineKey(mac)
}

// eachBinding calls fn with every readable stored binding; it skips
// unreadable ones, which Prune deletes.
func eachBinding(tx *bolt.Tx, fn func(MACBinding) error) error {
	return tx.Bucket(bucketBindings).ForEach(func(k, v []byte) error {
		mac, err := hw.ParseMAC(strings.TrimSuffix(string(k), "/6"))
		var bd Binding
		if err != nil || json.Unmarshal(v, &bd) != nil {
			return nil
		}
		return fn(MACBinding{mac, bd})
	})
}

func (t boltTx) PutSecret(secret []byte) error {
	return t.tx.Bucket(bucketMeta).Put(keySecret, append([]byte(nil), secret...))
}

// machineKey is a machine's key in the machines bucket: its MAC as
// hw.MAC.String writes it.
func machineKey(mac hw.MAC) []byte { return []byte(mac.String()) }

// eventKey orders events by machine, then time: MAC (6 bytes), Unix
// nanoseconds (8), a sequence number (4) so equal times stay distinct.
func (b *boltBackend) eventKey(e Event) []byte {
	k := make([]byte, 0, 18)
	k = append(k, e.MAC[:]...)
	k = binary.BigEndian.AppendUint64(k, uint64(e.Time.UnixNano()))
	return binary.BigEndian.AppendUint32(k, b.seq.Add(1))
}

func (b *boltBackend) Machine(mac hw.MAC) (Machine, error) {
	var m Machine
	err := b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMachines).Get(machineKey(mac))
		if v == nil {
			return fmt.Errorf("%s: %w", mac, ErrUnknownMachine)
		}
		return json.Unmarshal(v, &m)
	})
	return m, err
}

func (b *boltBackend) Machines() ([]Machine, error) {
	var out []Machine
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMachines).ForEach(func(_, v []byte) error {
			var m Machine
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	})
	return out, err
}

func (b *boltBackend) Lookup(macs []hw.MAC) (map[hw.MAC]Machine, error) {
	var out map[hw.MAC]Machine
	err := b.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = lookup(tx.Bucket(bucketMachines), macs)
		return err
	})
	return out, err
}

func lookup(b *bolt.Bucket, macs []hw.MAC) (map[hw.MAC]Machine, error) {
	out := make(map[hw.MAC]Machine, len(macs))
	for _, mac := range macs {
		v := b.Get(machineKey(mac))
		if v == nil {
			continue
		}
		var m Machine
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, fmt.Errorf("machine %s: %w", mac, err)
		}
		out[mac] = m
	}
	return out, nil
}

func (b *boltBackend) Events(mac hw.MAC, limit int) ([]Event, error) {
	var out []Event
	err := b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		// Walk backwards from the end of this MAC's key range.
		end := append(append([]byte{}, mac[:]...), bytes.Repeat([]byte{0xff}, 12)...)
		k, v := c.Seek(end)
		if k == nil {
			k, v = c.Last()
		} else if bytes.Compare(k, end) > 0 {
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, mac[:]); k, v = c.Prev() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

func (b *boltBackend) SaveClock(t time.Time) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyClock); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) >= t.UnixNano() {
			return nil
		}
		return meta.Put(keyClock, binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())))
	})
}

func (b *boltBackend) All(fn func(Item) error) error {
	return b.db.View(func(tx *bolt.Tx) error {
		if sec := tx.Bucket(bucketMeta).Get(keySecret); len(sec) == 32 {
			if err := fn(Item{Secret: append([]byte(nil), sec...)}); err != nil {
				return err
			}
		}
		err := tx.Bucket(bucketMachines).ForEach(func(_, v []byte) error {
			var m Machine
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			return fn(Item{Machine: &m})
		})
		if err != nil {
			return err
		}
		err = eachBinding(tx, func(mb MACBinding) error { return fn(Item{Binding: &mb}) })
		if err != nil {
			return err
		}
		return tx.Bucket(bucketEvents).ForEach(func(_, v []byte) error {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			return fn(Item{Event: &e})
		})
	})
}

func (b *boltBackend) Close() error { return b.db.Close() }
