// Package statetest is the contract every state.Backend passes: the
// embedded bbolt file and the PostgreSQL database run the same tests
// through a state.Store, so that machines, events and bindings behave the
// same on either, and (for a shared backend) across replicas.
package statetest

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

// Backend opens the backends under test.
type Backend struct {
	// Open opens a new, empty backend.
	Open func(t *testing.T) state.Backend
	// Reopen opens again the data of b, which its Store has closed.
	Reopen func(t *testing.T, b state.Backend) state.Backend
	// Peer, if set, opens a second backend over b's data, as another
	// replica does; nil for a backend one server owns.
	Peer func(t *testing.T, b state.Backend) state.Backend
}

// Run runs the contract against b.
func Run(t *testing.T, b Backend) {
	tests := map[string]func(*testing.T, Backend){
		"LifecycleAndRestart": testLifecycle,
		"Prune":               testPrune,
		"PruneForgets":        testPruneForgets,
		"Bindings":            testBindings,
		"BindingsPerFamily":   testBindingsPerFamily,
		"BindAloneMakesNone":  testBindAlone,
		"RefusalsKeepState":   testRefusals,
		"Repeats":             testRepeats,
		"Recent":              testRecent,
		"Lookup":              testLookup,
		"HostileStrings":      testHostile,
		"Copy":                testCopy,
	}
	if b.Peer != nil {
		tests["Replicas"] = testReplicas
		tests["ReplicasWriteOneMachine"] = testReplicasOneMachine
		tests["ReplicasBindingsPerFamily"] = testReplicasBindingsPerFamily
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) { fn(t, b) })
	}
}

var mac1, mac2 = hw.MAC{0x52, 0x54, 0, 0, 0, 1}, hw.MAC{0x52, 0x54, 0, 0, 0, 2}

// MACN is a test MAC that differs from the others in its last two bytes.
func MACN(i int) hw.MAC { return hw.MAC{0x52, 0x54, 0, 0, byte(i >> 8), byte(i)} }

func qemu(n byte) hw.MAC { return hw.MAC{2, 0, 0, 0, 0, n} }

var cmpAddr = cmpopts.EquateComparable(netip.Addr{})

// open makes a Store over a new backend, closed at the end of the test.
func (b Backend) open(t *testing.T) (*state.Store, state.Backend) {
	t.Helper()
	be := b.Open(t)
	return store(t, be), be
}

// reopen closes s and makes a Store over its data again.
func (b Backend) reopen(t *testing.T, s *state.Store, be state.Backend) (*state.Store, state.Backend) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	be = b.Reopen(t, be)
	return store(t, be), be
}

func store(t *testing.T, be state.Backend) *state.Store {
	t.Helper()
	s, err := state.New(be)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Flush waits until s has written want events of mac.
func Flush(t *testing.T, s *state.Store, mac hw.MAC, want int) []state.Event {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ev, _ := s.Events(mac, 0); len(ev) >= want {
			return ev
		}
	}
	ev, _ := s.Events(mac, 0)
	t.Fatalf("only %d of %d events for %s were written", len(ev), want, mac)
	return nil
}

func testLifecycle(t *testing.T, b Backend) {
	s, be := b.open(t)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	ip := netip.MustParseAddr("10.0.0.5")
	s.Record(state.Event{Time: at(0), MAC: mac1, Kind: state.KindDHCP, Outcome: state.OK, Arch: hw.ArchEFIx64, Detail: "firmware-pxe snponly.efi"})
	s.Record(state.Event{Time: at(1), MAC: mac1, Kind: state.KindTFTP, Outcome: state.OK, IP: ip, Detail: "snponly.efi"})
	s.Record(state.Event{Time: at(5), MAC: mac1, Kind: state.KindMenu, Outcome: state.OK, IP: ip, Known: true})
	s.Record(state.Event{Time: at(9), MAC: mac1, Kind: state.KindFile, Outcome: state.OK, IP: ip, Known: true, Detail: "kickstart.ks"})
	s.Record(state.Event{Time: at(3), MAC: mac2, Kind: state.KindDHCP, Outcome: state.OK})
	Flush(t, s, mac1, 4)
	Flush(t, s, mac2, 1)
	m, err := s.Machine(mac1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(state.Machine{MAC: mac1, State: state.Installing, FirstSeen: at(0), LastSeen: at(9), LastIP: ip,
		Arch: hw.ArchEFIx64, LastEvent: state.KindFile, LastOutcome: state.OK}, m, cmpAddr); diff != "" {
		t.Errorf("machine after a boot (-want +got):\n%s", diff)
	}
	if m2, _ := s.Machine(mac2); m2.State != state.Discovered {
		t.Errorf("unknown MAC state %q, want discovered", m2.State)
	}
	if mac, ok := s.MACFor(ip); !ok || mac != mac1 {
		t.Errorf("MACFor(%s) = %s, %v", ip, mac, ok)
	}
	if m, err = s.Installed(mac1, ip, true); err != nil || m.State != state.Installed {
		t.Fatalf("Installed = %+v, %v", m, err)
	}
	secret := append([]byte(nil), s.Secret()...)
	if len(secret) != 32 {
		t.Errorf("secret of %d bytes", len(secret))
	}
	clock := s.Now()
	s, _ = b.reopen(t, s, be)
	if m, _ := s.Machine(mac1); m.State != state.Installed || s.StateOf(mac1) != state.Installed {
		t.Errorf("after restart state %q (%q), want installed", m.State, s.StateOf(mac1))
	}
	if string(s.Secret()) != string(secret) {
		t.Error("the token secret changed across a restart")
	}
	if now := s.Now(); now.Before(clock) {
		t.Errorf("clock went back across a restart: %v < %v", now, clock)
	}
	ev, _ := s.Events(mac1, 0)
	var kinds []string
	for _, e := range ev {
		kinds = append(kinds, e.Kind)
	}
	if diff := cmp.Diff([]string{state.KindDHCP, state.KindTFTP, state.KindMenu, state.KindFile, state.KindCallback}, kinds); diff != "" {
		t.Errorf("events after restart (-want +got):\n%s", diff)
	}
	if last, _ := s.Events(mac1, 2); len(last) != 2 || last[1].Kind != state.KindCallback {
		t.Errorf("Events(limit 2) = %+v", last)
	}
	if m, err := s.Reinstall(mac1, true); err != nil || m.State != state.Assigned || !m.InstalledAt.IsZero() {
		t.Errorf("Reinstall = %+v, %v", m, err)
	}
	if _, err := s.Reinstall(qemu(0x99), false); !errors.Is(err, state.ErrUnknownMachine) {
		t.Errorf("Reinstall of an unknown, unlisted MAC: %v", err)
	}
	if _, err := s.Machine(qemu(0x98)); !errors.Is(err, state.ErrUnknownMachine) {
		t.Errorf("Machine of an unknown MAC: %v", err)
	}
}

func testPrune(t *testing.T, b Backend) {
	s, _ := b.open(t)
	s.MaxAge, s.MaxPerMachine = time.Hour, 3
	now := time.Now().Truncate(time.Microsecond)
	for i := range 5 {
		s.Record(state.Event{Time: now.Add(time.Duration(-i) * time.Minute), MAC: mac1, Kind: state.KindDHCP, Outcome: state.OK})
	}
	s.Record(state.Event{Time: now.Add(-2 * time.Hour), MAC: mac2, Kind: state.KindDHCP, Outcome: state.OK})
	s.Record(state.Event{Time: now, MAC: mac2, Kind: state.KindDHCP, Outcome: state.OK})
	Flush(t, s, mac1, 5)
	Flush(t, s, mac2, 2)
	n, err := s.Prune(now)
	if err != nil || n != 3 {
		t.Errorf("Prune = %d, %v; want 3 (2 over the count, 1 too old)", n, err)
	}
	if ev, _ := s.Events(mac1, 0); len(ev) != 3 || !ev[2].Time.Equal(now) {
		t.Errorf("kept %d events of mac1, newest %v", len(ev), ev)
	}
	if ev, _ := s.Events(mac2, 0); len(ev) != 1 {
		t.Errorf("kept %d events of mac2, want 1", len(ev))
	}
}

func testPruneForgets(t *testing.T, b Backend) {
	s, _ := b.open(t)
	s.MaxAge, s.MaxMachines = time.Hour, 2
	now := time.Now()
	macs := []hw.MAC{qemu(1), qemu(2), qemu(3), qemu(4)}
	for i, mac := range macs {
		s.Record(state.Event{Time: now.Add(-time.Duration(i) * time.Minute), MAC: mac, Kind: state.KindDHCP, Outcome: state.OK})
	}
	s.Record(state.Event{Time: now.Add(-3 * time.Hour), MAC: qemu(5), Kind: state.KindDHCP, Outcome: state.OK})
	s.Record(state.Event{Time: now.Add(-3 * time.Hour), MAC: mac1, Kind: state.KindMenu, Outcome: state.OK, Known: true})
	for _, mac := range append(macs, qemu(5), mac1) {
		Flush(t, s, mac, 1)
	}
	if _, err := s.Prune(now); err != nil {
		t.Fatal(err)
	}
	ms, _ := s.Machines()
	var got []hw.MAC
	for _, m := range ms {
		got = append(got, m.MAC)
	}
	// The two newest discovered machines stay, and the listed one however old.
	if diff := cmp.Diff([]hw.MAC{macs[0], macs[1], mac1}, got); diff != "" {
		t.Errorf("machines after prune (-want +got):\n%s", diff)
	}
	if ev, _ := s.Events(macs[3], 0); len(ev) != 0 {
		t.Errorf("a forgotten machine kept %d events", len(ev))
	}
	if s.StateOf(macs[3]) != "" {
		t.Error("a forgotten machine kept its state")
	}
}
