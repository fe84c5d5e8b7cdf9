package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/metrics"
	"github.com/bootwright/bootwright/internal/state"
)

// TestUnusableStateDir: a state directory that cannot be created does not
// stop boots; the store moves to a temporary directory and says so.
func TestUnusableStateDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sts, err := openState(&config{stateDir: filepath.Join(file, "state")}, log, metrics.New(), nil)
	if err != nil {
		t.Fatalf("openState: %v", err)
	}
	defer sts.st.Close()
	if err := sts.st.Health(); err == nil || !strings.Contains(err.Error(), "until a restart") {
		t.Errorf("Health = %v, want the degraded reason", err)
	}

	// A store in use by another server is not worked around.
	dir := t.TempDir()
	held, err := state.Open(filepath.Join(dir, state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := openState(&config{stateDir: dir}, log, metrics.New(), nil); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("openState of a store in use = %v", err)
	}
}
