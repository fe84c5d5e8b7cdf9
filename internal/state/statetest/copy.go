package statetest

import (
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/state"
)

// viaJSON is s as it comes back from being stored as JSON.
func viaJSON(s string) string {
	b, _ := json.Marshal(s)
	var out string
	json.Unmarshal(b, &out)
	return out
}

// testCopy copies a store to a bbolt file and back into an empty backend
// of the kind under test: the same machines, events, bindings and token
// key, and a second copy into a store that has machines is refused.
func testCopy(t *testing.T, b Backend) {
	s, be := b.open(t)
	now := s.Now()
	ip := netip.MustParseAddr("10.0.0.9")
	for i := range 30 {
		s.Record(state.Event{Time: now.Add(time.Duration(i) * time.Second), MAC: MACN(i % 7), Kind: state.KindMenu, Outcome: state.OK, IP: ip,
			Detail: Hostile[i%len(Hostile)][:min(20, len(Hostile[i%len(Hostile)]))]})
	}
	s.Bind(mac1, state.Binding{Addr: ip, Since: now, Until: now.Add(time.Hour), Source: state.BoundByLease})
	for i := range 7 {
		Flush(t, s, MACN(i), 30/7)
	}
	if _, err := s.Installed(MACN(3), ip, true); err != nil {
		t.Fatal(err)
	}
	want := dump(t, s)
	secret := string(s.Secret())
	s.Close()
	be = b.Reopen(t, be)

	mid, err := state.OpenBolt(filepath.Join(t.TempDir(), state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	c1, err := state.Copy(mid, be)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Machines != 7 || c1.Events != 31 || c1.Bindings != 1 || !c1.Secret {
		t.Errorf("copied out %v, want 7 machines, 31 events, 1 binding, the key", c1)
	}
	back := b.Open(t)
	c2, err := state.Copy(back, mid)
	if err != nil || c2 != c1 {
		t.Errorf("copied back %v, %v; want %v", c2, err, c1)
	}
	if _, err := state.Copy(back, mid); !errors.Is(err, state.ErrNotEmpty) {
		t.Errorf("a second copy into a full store: %v", err)
	}
	mid.Close()
	be.Close()
	s2 := store(t, back)
	if string(s2.Secret()) != secret {
		t.Error("the token key was not copied")
	}
	if diff := cmp.Diff(want, dump(t, s2), cmpAddr); diff != "" {
		t.Errorf("after a copy out and back (-want +got):\n%s", diff)
	}
}

// snapshot is what a copy must keep.
type snapshot struct {
	Machines []state.Machine
	Events   map[string][]state.Event
	Binding  state.Binding
}

func dump(t *testing.T, s *state.Store) snapshot {
	t.Helper()
	ms, err := s.Machines()
	if err != nil {
		t.Fatal(err)
	}
	d := snapshot{Machines: ms, Events: map[string][]state.Event{}}
	for _, m := range ms {
		ev, err := s.Events(m.MAC, 0)
		if err != nil {
			t.Fatal(err)
		}
		d.Events[m.MAC.String()] = ev
	}
	d.Binding, _ = s.Binding(mac1, s.Now())
	return d
}
