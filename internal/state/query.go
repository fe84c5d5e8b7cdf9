package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	bolt "go.etcd.io/bbolt"
)

// ErrUnknownMachine is returned for a MAC the store has never seen.
var ErrUnknownMachine = errors.New("unknown machine")

// Machine returns what the store knows about mac.
func (s *Store) Machine(mac hw.MAC) (Machine, error) {
	var m Machine
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMachines).Get(machineKey(mac))
		if v == nil {
			return fmt.Errorf("%s: %w", mac, ErrUnknownMachine)
		}
		return json.Unmarshal(v, &m)
	})
	return m, err
}

// Machines returns every machine, most recently seen first.
func (s *Store) Machines() ([]Machine, error) {
	var out []Machine
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMachines).ForEach(func(_, v []byte) error {
			var m Machine
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastSeen.After(out[j].LastSeen) })
	return out, err
}

// Events returns mac's latest events, oldest first, at most limit (0: all).
func (s *Store) Events(mac hw.MAC, limit int) ([]Event, error) {
	var out []Event
	err := s.db.View(func(tx *bolt.Tx) error {
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

// Installed marks mac installed and commits before it returns, so an
// installer that got its answer knows the next boot will see it.
func (s *Store) Installed(mac hw.MAC, ip netip.Addr, known bool) (Machine, error) {
	return s.updateNow(Event{Time: s.Now(), MAC: mac, Kind: KindCallback, Outcome: OK, IP: ip, Known: known, Detail: "installer reported success"})
}

// Reinstall re-arms mac: its next boot gets its install entry again.
func (s *Store) Reinstall(mac hw.MAC, known bool) (Machine, error) {
	// A machine that never booted can be re-armed if it is listed.
	if _, err := s.Machine(mac); err != nil && !known {
		return Machine{}, err
	}
	return s.updateNow(Event{Time: s.Now(), MAC: mac, Kind: KindState, Outcome: OK, Known: known, Detail: "reinstall requested"})
}

// updateNow applies one event synchronously (install state changes).
func (s *Store) updateNow(e Event) (Machine, error) {
	s.duplicate(e) // it is the machine's latest event now
	var m *Machine
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		m, err = loadMachine(tx.Bucket(bucketMachines), map[hw.MAC]*Machine{}, e.MAC)
		if err != nil {
			return err
		}
		m.apply(e)
		// Both end the install's tokens: a reinstall re-arms the
		// machine for a new boot, and a callback is used once.
		m.RevokedBefore = e.Time
		if e.Kind == KindState {
			m.InstalledAt = time.Time{}
			m.State = Discovered
			if e.Known {
				m.State = Assigned
			}
		}
		v, _ := json.Marshal(m)
		if err := tx.Bucket(bucketMachines).Put(machineKey(e.MAC), v); err != nil {
			return err
		}
		ev, _ := json.Marshal(e)
		return tx.Bucket(bucketEvents).Put(s.eventKey(e), ev)
	})
	if err != nil {
		return Machine{}, err
	}
	s.states.Store(e.MAC, machineInfo{m.State, m.RevokedBefore})
	if s.Observe != nil {
		s.Observe(e, *m)
	}
	s.publish(e)
	return *m, nil
}

// Prune deletes events older than MaxAge and all but the newest
// MaxPerMachine of each machine, then forgets discovered machines (never
// listed, never installed) not seen for MaxAge, and the oldest of them
// beyond MaxMachines. It returns how many events it deleted.
func (s *Store) Prune(now time.Time) (int, error) {
	n, err := s.pruneEvents(now)
	if err != nil {
		return n, err
	}
	if err := s.pruneBindings(now); err != nil {
		return n, err
	}
	if err := s.saveClock(); err != nil {
		return n, err
	}
	return n, s.pruneMachines(now)
}

// pruneMachines forgets stale and excess discovered machines, so that a
// flood of made-up MACs cannot grow the store without bound.
func (s *Store) pruneMachines(now time.Time) error {
	maxAge, maxN := s.MaxAge, s.MaxMachines
	if maxAge == 0 {
		maxAge = 30 * 24 * time.Hour
	}
	if maxN == 0 {
		maxN = 10000
	}
	ms, err := s.Machines() // most recently seen first
	if err != nil {
		return err
	}
	var forget []hw.MAC
	kept := 0
	for _, m := range ms {
		if m.State != Discovered {
			kept++
			continue
		}
		if now.Sub(m.LastSeen) > maxAge || kept >= maxN {
			forget = append(forget, m.MAC)
			continue
		}
		kept++
	}
	if len(forget) == 0 {
		return nil
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
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
	for _, mac := range forget {
		s.states.Delete(mac)
	}
	return err
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

// pruneEvents deletes old and excess events.
func (s *Store) pruneEvents(now time.Time) (int, error) {
	maxAge, maxN := s.MaxAge, s.MaxPerMachine
	if maxAge == 0 {
		maxAge = 30 * 24 * time.Hour
	}
	if maxN == 0 {
		maxN = 1000
	}
	cutoff := uint64(now.Add(-maxAge).UnixNano())
	deleted := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		var victims [][]byte
		var mac []byte
		var keys [][]byte
		flush := func() {
			if len(keys) > maxN {
				victims = append(victims, keys[:len(keys)-maxN]...)
				keys = keys[len(keys)-maxN:]
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
		b := tx.Bucket(bucketEvents)
		for _, k := range victims {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		deleted = len(victims)
		return nil
	})
	return deleted, err
}

// Subscribe returns a channel of events as they are written, for live
// views, and a function to stop. A subscriber that falls behind misses
// events rather than slowing the store.
func (s *Store) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 64)
	s.subMu.Lock()
	s.subs[ch] = struct{}{}
	s.subMu.Unlock()
	return ch, func() {
		s.subMu.Lock()
		delete(s.subs, ch)
		s.subMu.Unlock()
	}
}

func (s *Store) publish(e Event) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- e:
		default:
		}
	}
}
