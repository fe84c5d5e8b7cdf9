package state

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/bootwright/bootwright/internal/hw"
)

// Recent returns, most recently seen first, the limit most recently seen
// machines that keep accepts (every machine when keep is nil), and how
// many machines keep accepted in all. It reads every machine once but
// keeps and sorts only limit of them, so that a listing stays cheap after
// a flood of made-up MACs. Machines seen at the same time come in MAC
// order. A limit of 0 or less returns no machine, only the count.
func (s *Store) Recent(limit int, keep func(*Machine) bool) ([]Machine, int, error) {
	top := &recentHeap{}
	total := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMachines).ForEach(func(k, v []byte) error {
			var m Machine
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("machine %s: %w", k, err)
			}
			if keep != nil && !keep(&m) {
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
