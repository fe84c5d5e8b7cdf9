package state

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bootwright/bootwright/internal/hw"
)

// Filter picks the machines Recent lists. The zero Filter picks all.
type Filter struct {
	// SkipMAC, if set, leaves out the machines it accepts, by MAC alone.
	SkipMAC func(hw.MAC) bool
	// Keep, if set, lists only the machines it accepts. It needs every
	// machine decoded, which costs more than SkipMAC.
	Keep func(*Machine) bool
}

// Recent returns, most recently seen first, the limit most recently seen
// machines that f picks, and how many machines f picks in all. It reads
// every machine but keeps and sorts only limit of them, and unless f has
// a Keep function it decodes only those that may be among them: a listing
// stays cheap after a flood of made-up MACs. Machines seen at the same
// time come in MAC order. A limit of 0 or less returns only the count.
func (s *Store) Recent(limit int, f Filter) ([]Machine, int, error) {
	top := &recentHeap{}
	total := 0
	err := s.db.View(func(tx *bolt.Tx) error {
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
			switch {
			case limit <= 0:
			case top.Len() < limit:
				heap.Push(top, m)
			case newer(m, (*top)[0]):
				(*top)[0] = m
				heap.Fix(top, 0)
			}
			return nil
		})
	})
	if err != nil {
		return nil, 0, err
	}
	out := []Machine(*top)
	slices.SortFunc(out, func(a, b Machine) int {
		if newer(a, b) {
			return -1
		}
		return 1
	})
	return out, total, nil
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

// Lookup returns what the store knows of each of macs that it has seen,
// in one read.
func (s *Store) Lookup(macs []hw.MAC) (map[hw.MAC]Machine, error) {
	out := make(map[hw.MAC]Machine, len(macs))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMachines)
		for _, mac := range macs {
			v := b.Get(machineKey(mac))
			if v == nil {
				continue
			}
			var m Machine
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("machine %s: %w", mac, err)
			}
			out[mac] = m
		}
		return nil
	})
	return out, err
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
