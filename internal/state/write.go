package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bootwright/bootwright/internal/groupcommit"
	"github.com/bootwright/bootwright/internal/hw"
)

// Record queues e for writing. It never blocks: when the queue is full
// (the disk cannot keep up) the event is dropped and counted.
func (s *Store) Record(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.Bind != nil && (!e.Bind.Addr.IsValid() || e.MAC.IsZero()) {
		e.Bind = nil
	}
	if e.Bind != nil {
		s.binds.set(e.MAC, *e.Bind)
	}
	if e.Kind != kindBind && s.duplicate(e) {
		if e.Bind == nil {
			return
		}
		// A repeated event is not kept, but the binding it made is.
		e.Kind = kindBind
	}
	e.IP = e.IP.Unmap()
	if e.IP.IsValid() && !e.MAC.IsZero() {
		s.ipMAC.Store(e.IP, e.MAC)
	}
	if errors.Is(s.w.TrySubmit(e, nil), groupcommit.ErrFull) {
		s.dropped.Add(1)
	}
}

// write puts events and the machines they update in one transaction, on
// the writer's goroutine, keeping each machine as its event left it in
// s.updated for committed.
func (s *Store) write(tx *bolt.Tx, events []Event) error {
	s.updated = make([]Machine, len(events))
	mb, eb, bb := tx.Bucket(bucketMachines), tx.Bucket(bucketEvents), tx.Bucket(bucketBindings)
	cache := map[hw.MAC]*Machine{}
	for i, e := range events {
		if e.Kind == kindBind {
			bv, _ := json.Marshal(e.Bind)
			if err := bb.Put(bindingKey(e.MAC, e.Bind.Addr), bv); err != nil {
				return err
			}
			continue
		}
		m, err := loadMachine(mb, cache, e.MAC)
		if err != nil {
			return err
		}
		if m.FirstSeen.IsZero() && e.Outcome != OK && !e.Known {
			// A refusal or error does not make a machine of a MAC never
			// seen booting (a made-up MAC asking for a file); the event
			// is kept all the same.
			delete(cache, e.MAC)
		} else {
			m.apply(e)
		}
		s.updated[i] = *m
		v, _ := json.Marshal(e)
		if err := eb.Put(s.eventKey(e), v); err != nil {
			return err
		}
		if e.Bind != nil {
			bv, _ := json.Marshal(e.Bind)
			if err := bb.Put(bindingKey(e.MAC, e.Bind.Addr), bv); err != nil {
				return err
			}
		}
	}
	for mac, m := range cache {
		v, _ := json.Marshal(m)
		if err := mb.Put(machineKey(mac), v); err != nil {
			return err
		}
	}
	return nil
}

// committed runs after each transaction: once events are durable it tells
// observers and subscribers, and it keeps the write error for Health.
func (s *Store) committed(events []Event, err error) {
	if err == nil {
		for i, e := range events {
			if e.Kind == kindBind {
				continue
			}
			m := s.updated[i]
			s.states.Store(e.MAC, machineInfo{m.State, m.RevokedBefore})
			if s.Observe != nil {
				s.Observe(e, s.updated[i])
			}
			s.publish(e)
		}
	} else if s.Logger != nil {
		s.Logger.Error("state store: cannot write events; boots go on", "events", len(events), "err", err)
	}
	s.updated = nil
	s.healthMu.Lock()
	s.writeErr = err
	s.healthMu.Unlock()
}

func loadMachine(mb *bolt.Bucket, cache map[hw.MAC]*Machine, mac hw.MAC) (*Machine, error) {
	if m, ok := cache[mac]; ok {
		return m, nil
	}
	m := &Machine{MAC: mac}
	if v := mb.Get(machineKey(mac)); v != nil {
		if err := json.Unmarshal(v, m); err != nil {
			return nil, fmt.Errorf("machine %s: %w", mac, err)
		}
	}
	cache[mac] = m
	return m, nil
}

// machineKey is a machine's key in the machines bucket: its MAC as
// hw.MAC.String writes it.
func machineKey(mac hw.MAC) []byte { return []byte(mac.String()) }

// eventKey orders events by machine, then time: MAC (6 bytes), Unix
// nanoseconds (8), a sequence number (4) so equal times stay distinct.
func (s *Store) eventKey(e Event) []byte {
	k := make([]byte, 0, 18)
	k = append(k, e.MAC[:]...)
	k = binary.BigEndian.AppendUint64(k, uint64(e.Time.UnixNano()))
	return binary.BigEndian.AppendUint32(k, s.seq.Add(1))
}

// duplicate reports whether e repeats its machine's latest event within
// dupWindow, and otherwise makes e the latest.
func (s *Store) duplicate(e Event) bool {
	s.dupMu.Lock()
	defer s.dupMu.Unlock()
	if s.last == nil || len(s.last) > 65536 {
		s.last = map[hw.MAC]lastEvent{}
	}
	l, ok := s.last[e.MAC]
	if ok && l.kind == e.Kind && l.outcome == e.Outcome && l.detail == e.Detail && e.Time.Sub(l.at) < dupWindow && !e.Time.Before(l.at) {
		return true
	}
	s.last[e.MAC] = lastEvent{e.Kind, e.Outcome, e.Detail, e.Time}
	return false
}
