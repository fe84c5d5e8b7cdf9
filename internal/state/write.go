package state

import (
	"bytes"
	"errors"
	"slices"

	"github.com/bootwright/bootwright/internal/groupcommit"
	"github.com/bootwright/bootwright/internal/hw"
)

// Record queues e for writing. It never blocks: when the queue is full
// (the disk cannot keep up, or a shared database has been down for long)
// the event is dropped and counted.
func (s *Store) Record(e Event) {
	if e.Time.IsZero() {
		e.Time = s.Now()
	}
	if e.Replica == "" {
		e.Replica = s.Replica()
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
// s.updated for committed. It decides for every backend what an event
// does to its machine.
func (s *Store) write(tx Tx, events []Event) error {
	s.updated = make([]Machine, len(events))
	var macs []hw.MAC
	for _, e := range events {
		if e.Kind != kindBind {
			macs = append(macs, e.MAC)
		}
	}
	slices.SortFunc(macs, func(a, b hw.MAC) int { return bytes.Compare(a[:], b[:]) })
	stored, err := tx.Machines(slices.Compact(macs))
	if err != nil {
		return err
	}
	cache := map[hw.MAC]*Machine{}
	for i, e := range events {
		if e.Kind == kindBind {
			if err := tx.PutBinding(e.MAC, *e.Bind); err != nil {
				return err
			}
			continue
		}
		m, ok := cache[e.MAC]
		if !ok {
			m = &Machine{MAC: e.MAC}
			if sm, ok := stored[e.MAC]; ok {
				*m = sm
			}
			cache[e.MAC] = m
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
		if err := tx.AddEvent(e); err != nil {
			return err
		}
		if e.Bind != nil {
			if err := tx.PutBinding(e.MAC, *e.Bind); err != nil {
				return err
			}
		}
	}
	for _, m := range cache {
		if err := tx.PutMachine(*m); err != nil {
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
