package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Record queues e for writing. It never blocks: when the queue is full
// (the disk cannot keep up) the event is dropped and counted.
func (s *Store) Record(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if s.duplicate(e) {
		return
	}
	if e.IP != "" && e.MAC != "" {
		s.ipMAC.Store(e.IP, e.MAC)
		if e.Kind == KindDHCP && e.Outcome == OK {
			s.dhcpIP.Store(e.MAC, e.IP)
		}
	}
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.q <- e:
	default:
		s.dropped.Add(1)
	}
}

// writer commits queued events in batches: one transaction (one fsync)
// per batch of up to 512 events or 100ms.
func (s *Store) writer() {
	defer close(s.done)
	batch := make([]Event, 0, 512)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		err := s.commit(batch)
		if err != nil && s.Logger != nil {
			s.Logger.Error("state store: cannot write events; boots go on", "events", len(batch), "err", err)
		}
		s.healthMu.Lock()
		s.writeErr = err
		s.healthMu.Unlock()
		batch = batch[:0]
	}
	for {
		select {
		case e, ok := <-s.q:
			if !ok {
				flush()
				return
			}
			batch = append(batch, e)
			if len(batch) == cap(batch) {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// commit writes events and the machines they update in one transaction,
// then tells observers and subscribers.
func (s *Store) commit(events []Event) error {
	updated := make([]Machine, len(events))
	err := s.db.Update(func(tx *bolt.Tx) error {
		mb, eb := tx.Bucket(bucketMachines), tx.Bucket(bucketEvents)
		cache := map[string]*Machine{}
		for i, e := range events {
			m, err := loadMachine(mb, cache, e.MAC)
			if err != nil {
				return err
			}
			m.apply(e)
			updated[i] = *m
			v, _ := json.Marshal(e)
			if err := eb.Put(s.eventKey(e), v); err != nil {
				return err
			}
		}
		for mac, m := range cache {
			v, _ := json.Marshal(m)
			if err := mb.Put([]byte(mac), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, e := range events {
		s.states.Store(e.MAC, updated[i].State)
		if s.Observe != nil {
			s.Observe(e, updated[i])
		}
		s.publish(e)
	}
	return nil
}

func loadMachine(mb *bolt.Bucket, cache map[string]*Machine, mac string) (*Machine, error) {
	if m, ok := cache[mac]; ok {
		return m, nil
	}
	m := &Machine{MAC: mac}
	if v := mb.Get([]byte(mac)); v != nil {
		if err := json.Unmarshal(v, m); err != nil {
			return nil, fmt.Errorf("machine %s: %w", mac, err)
		}
	}
	cache[mac] = m
	return m, nil
}

// eventKey orders events by machine, then time: MAC (6 bytes), Unix
// nanoseconds (8), a sequence number (4) so equal times stay distinct.
func (s *Store) eventKey(e Event) []byte {
	k := make([]byte, 0, 18)
	hw, err := net.ParseMAC(e.MAC)
	if err != nil || len(hw) != 6 {
		hw = make(net.HardwareAddr, 6)
	}
	k = append(k, hw...)
	k = binary.BigEndian.AppendUint64(k, uint64(e.Time.UnixNano()))
	return binary.BigEndian.AppendUint32(k, s.seq.Add(1))
}

// duplicate reports whether e repeats its machine's latest event within
// dupWindow, and otherwise makes e the latest.
func (s *Store) duplicate(e Event) bool {
	s.dupMu.Lock()
	defer s.dupMu.Unlock()
	if s.last == nil || len(s.last) > 65536 {
		s.last = map[string]lastEvent{}
	}
	l, ok := s.last[e.MAC]
	if ok && l.kind == e.Kind && l.outcome == e.Outcome && l.detail == e.Detail && e.Time.Sub(l.at) < dupWindow && !e.Time.Before(l.at) {
		return true
	}
	s.last[e.MAC] = lastEvent{e.Kind, e.Outcome, e.Detail, e.Time}
	return false
}
