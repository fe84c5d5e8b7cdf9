package state_test

import (
	"path/filepath"
	"testing"

	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/internal/state/statetest"
)

// TestBoltContract runs the backend contract (shared with PostgreSQL)
// against the bbolt file.
func TestBoltContract(t *testing.T) {
	paths := map[state.Backend]string{}
	open := func(t *testing.T, path string) state.Backend {
		b, err := state.OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		paths[b] = path
		return b
	}
	statetest.Run(t, statetest.Backend{
		Open:   func(t *testing.T) state.Backend { return open(t, filepath.Join(t.TempDir(), state.FileName)) },
		Reopen: func(t *testing.T, b state.Backend) state.Backend { return open(t, paths[b]) },
	})
}
