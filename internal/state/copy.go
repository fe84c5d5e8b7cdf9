package state

import (
	"errors"
	"fmt"
)

// Counts says how much Copy copied.
type Counts struct {
	Machines, Events, Bindings int
	Secret                     bool
}

func (c Counts) String() string {
	return fmt.Sprintf("%d machines, %d events, %d bindings, token key %s", c.Machines, c.Events, c.Bindings,
		map[bool]string{true: "copied", false: "not copied (none)"}[c.Secret])
}

// ErrNotEmpty is returned by Copy for a destination that has machines.
var ErrNotEmpty = errors.New("destination already holds machines")

// copyBatch is how many records go into one transaction of Copy.
const copyBatch = 1000

// Copy copies every machine, event and binding, and the token key (so
// that tokens handed out before stay valid), from src to dst, which must
// hold no machine and must not be in use by a server. Events keep their
// order per machine.
func Copy(dst, src Backend) (Counts, error) {
	var c Counts
	ms, err := dst.Machines()
	if err != nil {
		return c, fmt.Errorf("destination: %w", err)
	}
	if len(ms) > 0 {
		return c, fmt.Errorf("%w (%d): copy only into an empty store", ErrNotEmpty, len(ms))
	}
	var batch []Item
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := dst.Update(func(tx Tx) error {
			for _, it := range batch {
				if err := putItem(tx, it); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	err = src.All(func(it Item) error {
		switch {
		case it.Machine != nil:
			c.Machines++
		case it.Event != nil:
			c.Events++
		case it.Binding != nil:
			c.Bindings++
		case it.Secret != nil:
			c.Secret = true
		}
		batch = append(batch, it)
		if len(batch) >= copyBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return c, err
}

func putItem(tx Tx, it Item) error {
	switch {
	case it.Machine != nil:
		return tx.PutMachine(*it.Machine)
	case it.Event != nil:
		return tx.AddEvent(*it.Event)
	case it.Binding != nil:
		return tx.PutBinding(it.Binding.MAC, it.Binding.Binding)
	case it.Secret != nil:
		return tx.PutSecret(it.Secret)
	}
	return nil
}
