package state

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bootwright/bootwright/internal/hw"
)

// Recent reads every machine but keeps and sorts only limit of them, and
// unless f has a Keep function it decodes only those that may be among
// them: a listing stays cheap after a flood of made-up MACs.
func (b *boltBackend) Recent(limit int, f Filter) ([]Machine, int, error) {
	top := &recentHeap{}
	total := 0
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMachines).ForEach(func(k, v []byte) error {
			if f.SkipMAC != nil {
				if mac, err := hw.ParseMAC(string(k)); err == nil && f.SkipMAC(mac) {
					return nil
				}
			}
			if f.Keep == nil && (limit <= 0 || top.Len() == limit && olderThan(v, (*top)[0])) {
				total++ // counted, but not among the limit newest: no need to decode it
				return nil
			}
			var m Machine
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("machine %s: %w", k, err)
			}
			if f.Keep != nil && !f.Keep(&m) {
				return nil
			}
			total++
			top.offer(m, limit)
			return nil
		})
	})
	if err != nil {
		return nil, 0, err
	}
	return top.sorted(), total, nil
}

// lastSeenField is how a stored machine's LastSeen starts.
var lastSeenField = []byte(`"last_seen":"`)

// olderThan reports whether the stored machine v was last seen before m,
// by finding its last_seen field rather than decoding it all; false when
// it cannot tell.
func olderThan(v []byte, m Machine) bool {
	i := bytes.Index(v, lastSeenField)
	if i < 0 {
		return false
	}
	rest := v[i+len(lastSeenField):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return err == nil && t.Before(m.LastSeen)
}

// newer orders machines for Recent: later LastSeen first, then by MAC.
func newer(a, b Machine) bool {
	if !a.LastSeen.Equal(b.LastSeen) {
		return a.LastSeen.After(b.LastSeen)
	}
	return string(a.MAC[:]) < string(b.MAC[:])
}

// recentHeap is a min-heap by newer: its root is the machine Recent
// drops first.
type recentHeap []Machine

func (h recentHeap) Len() int           { return len(h) }
func (h recentHeap) Less(i, j int) bool { return newer(h[j], h[i]) }
func (h recentHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *recentHeap) Push(x any)        { *h = append(*h, x.(Machine)) }
func (h *recentHeap) Pop() any {
	old := *h
	m := old[len(old)-1]
	*h = old[:len(old)-1]
	return m
}

// offer keeps m if it is among the limit newest seen so far.
func (h *recentHeap) offer(m Machine, limit int) {
	switch {
	case limit <= 0:
	case h.Len() < limit:
		heap.Push(h, m)
	case newer(m, (*h)[0]):
		(*h)[0] = m
		heap.Fix(h, 0)
	}
}

// sorted returns the machines kept, newest first.
func (h *recentHeap) sorted() []Machine {
	out := []Machine(*h)
	slices.SortFunc(out, func(a, b Machine) int {
		if newer(a, b) {
			return -1
		}
		return 1
	})
	return out
}

func (b *boltBackend) Prune(now time.Time, lim Limits) (int, []hw.MAC, error) {
	n, err := b.pruneEvents(now, lim)
	if err != nil {
		return n, nil, err
	}
	if err := b.pruneBindings(now); err != nil {
		return n, nil, err
	}
	ms, err := b.Machines()
	if err != nil {
		return n, nil, err
	}
	forget := Forgotten(ms, now, lim)
	if len(forget) == 0 {
		return n, nil, nil
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		for _, mac := range forget {
			if err := tx.Bucket(bucketMachines).Delete(machineKey(mac)); err != nil {
				return err
			}
			if err := deleteEvents(tx.Bucket(bucketEvents), mac); err != nil {
				return err
			}
		}
		return nil
	})
	return n, forget, err
}

// Forgotten picks, from every machine, the discovered ones (never listed,
// never installed) not seen for MaxAge and the oldest of them beyond
// MaxMachines, so that a flood of made-up MACs cannot grow a store
// without bound.
func Forgotten(ms []Machine, now time.Time, lim Limits) []hw.MAC {
	slices.SortStableFunc(ms, func(a, b Machine) int { return b.LastSeen.Compare(a.LastSeen) })
	var forget []hw.MAC
	kept := 0
	for _, m := range ms {
		if m.State != Discovered {
			kept++
			continue
		}
		if now.Sub(m.LastSeen) > lim.MaxAge || kept >= lim.MaxMachines {
			forget = append(forget, m.MAC)
			continue
		}
		kept++
	}
	return forget
}

// deleteEvents removes every event of mac.
func deleteEvents(b *bolt.Bucket, mac hw.MAC) error {
	c := b.Cursor()
	var keys [][]byte
	for k, _ := c.Seek(mac[:]); k != nil && bytes.HasPrefix(k, mac[:]); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// pruneEvents deletes events older than MaxAge and all but the newest
// MaxPerMachine of each machine.
func (b *boltBackend) pruneEvents(now time.Time, lim Limits) (int, error) {
	cutoff := uint64(now.Add(-lim.MaxAge).UnixNano())
	deleted := 0
	err := b.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		var victims [][]byte
		var mac []byte
		var keys [][]byte
		flush := func() {
			if len(keys) > lim.MaxPerMachine {
				victims = append(victims, keys[:len(keys)-lim.MaxPerMachine]...)
				keys = keys[len(keys)-lim.MaxPerMachine:]
			}
			for _, k := range keys {
				if binary.BigEndian.Uint64(k[6:14]) < cutoff {
					victims = append(victims, k)
				}
			}
			keys = keys[:0]
		}
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) != 18 {
				continue
			}
			if mac != nil && !bytes.Equal(k[:6], mac) {
				flush()
			}
			mac = append(mac[:0], k[:6]...)
			keys = append(keys, append([]byte(nil), k...))
		}
		flush()
		bk := tx.Bucket(bucketEvents)
		for _, k := range victims {
			if err := bk.Delete(k); err != nil {
				return err
			}
		}
		deleted = len(victims)
		return nil
	})
	return deleted, err
}

// pruneBindings deletes the bindings that ended before now.
func (b *boltBackend) pruneBindings(now time.Time) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketBindings)
		var dead [][]byte
		bk.ForEach(func(k, v []byte) error {
			var bd Binding
			if json.Unmarshal(v, &bd) != nil || !now.Before(bd.Until) {
				dead = append(dead, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range dead {
			if err := bk.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
