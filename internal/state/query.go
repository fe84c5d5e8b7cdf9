package state

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// ErrUnknownMachine is returned for a MAC the store has never seen.
var ErrUnknownMachine = errors.New("unknown machine")

// Machine returns what the store knows about mac.
func (s *Store) Machine(mac hw.MAC) (Machine, error) { return s.b.Machine(mac) }

// Machines returns every machine, most recently seen first.
func (s *Store) Machines() ([]Machine, error) {
	out, err := s.b.Machines()
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastSeen.After(out[j].LastSeen) })
	return out, err
}

// Events returns mac's latest events, oldest first, at most limit (0: all).
func (s *Store) Events(mac hw.MAC, limit int) ([]Event, error) { return s.b.Events(mac, limit) }

// Lookup returns what the store knows of each of macs that it has seen,
// in one read.
func (s *Store) Lookup(macs []hw.MAC) (map[hw.MAC]Machine, error) { return s.b.Lookup(macs) }

// Recent returns, most recently seen first, the limit most recently seen
// machines that f picks, and how many machines f picks in all. Machines
// seen at the same time come in MAC order. A limit of 0 or less returns
// only the count.
func (s *Store) Recent(limit int, f Filter) ([]Machine, int, error) { return s.b.Recent(limit, f) }

// Installed marks mac installed and commits before it returns, so an
// installer that got its answer knows the next boot will see it, on
// every replica.
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
	e.Replica = s.Replica()
	s.duplicate(e) // it is the machine's latest event now
	var m Machine
	err := s.b.Update(func(tx Tx) error {
		stored, err := tx.Machines([]hw.MAC{e.MAC})
		if err != nil {
			return err
		}
		m = Machine{MAC: e.MAC}
		if sm, ok := stored[e.MAC]; ok {
			m = sm
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
		if err := tx.PutMachine(m); err != nil {
			return err
		}
		return tx.AddEvent(e)
	})
	if err != nil {
		return Machine{}, err
	}
	s.states.Store(e.MAC, machineInfo{m.State, m.RevokedBefore})
	if s.Observe != nil {
		s.Observe(e, m)
	}
	s.publish(e)
	return m, nil
}

// Prune deletes events older than MaxAge and all but the newest
// MaxPerMachine of each machine, then forgets discovered machines (never
// listed, never installed) not seen for MaxAge, and the oldest of them
// beyond MaxMachines, and ended bindings. It returns how many events it
// deleted.
func (s *Store) Prune(now time.Time) (int, error) {
	lim := Limits{MaxAge: s.MaxAge, MaxPerMachine: s.MaxPerMachine, MaxMachines: s.MaxMachines}
	if lim.MaxAge == 0 {
		lim.MaxAge = 30 * 24 * time.Hour
	}
	if lim.MaxPerMachine == 0 {
		lim.MaxPerMachine = 1000
	}
	if lim.MaxMachines == 0 {
		lim.MaxMachines = 10000
	}
	n, forgot, err := s.b.Prune(now, lim)
	for _, mac := range forgot {
		s.states.Delete(mac)
	}
	if err != nil {
		return n, fmt.Errorf("state store: prune: %w", err)
	}
	return n, s.saveClock()
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
