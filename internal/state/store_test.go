package state

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var mac1, mac2 = hw.MAC{0x52, 0x54, 0, 0, 0, 1}, hw.MAC{0x52, 0x54, 0, 0, 0, 2}

// macN is a test MAC that differs from the others in its last two bytes.
func macN(i int) hw.MAC { return hw.MAC{0x52, 0x54, 0, 0, byte(i >> 8), byte(i)} }

// qemu is the MAC 02:00:00:00:00:n.
func qemu(n byte) hw.MAC { return hw.MAC{2, 0, 0, 0, 0, n} }

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// flush waits until the writer has committed what was queued.
func flush(t *testing.T, s *Store, mac hw.MAC, want int) []Event {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ev, _ := s.Events(mac, 0); len(ev) >= want {
			return ev
		}
	}
	ev, _ := s.Events(mac, 0)
	t.Fatalf("only %d of %d events for %s were written", len(ev), want, mac)
	return nil
}

func TestLifecycleAndRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s := open(t, path)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	s.Record(Event{Time: at(0), MAC: mac1, Kind: KindDHCP, Outcome: OK, Arch: hw.ArchEFIx64, Detail: "firmware-pxe snponly.efi"})
	s.Record(Event{Time: at(1), MAC: mac1, Kind: KindTFTP, Outcome: OK, IP: netip.MustParseAddr("10.0.0.5"), Detail: "snponly.efi"})
	s.Record(Event{Time: at(5), MAC: mac1, Kind: KindMenu, Outcome: OK, IP: netip.MustParseAddr("10.0.0.5"), Known: true})
	s.Record(Event{Time: at(9), MAC: mac1, Kind: KindFile, Outcome: OK, IP: netip.MustParseAddr("10.0.0.5"), Known: true, Detail: "kickstart.ks"})
	s.Record(Event{Time: at(3), MAC: mac2, Kind: KindDHCP, Outcome: OK})
	flush(t, s, mac1, 4)
	flush(t, s, mac2, 1)
	m, err := s.Machine(mac1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Machine{MAC: mac1, State: Installing, FirstSeen: at(0), LastSeen: at(9), LastIP: netip.MustParseAddr("10.0.0.5"),
		Arch: hw.ArchEFIx64, LastEvent: KindFile, LastOutcome: OK}, m, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("machine after a boot (-want +got):\n%s", diff)
	}
	if m2, _ := s.Machine(mac2); m2.State != Discovered {
		t.Errorf("unknown MAC state %q, want discovered", m2.State)
	}
	if m, err = s.Installed(mac1, netip.MustParseAddr("10.0.0.5"), true); err != nil || m.State != Installed {
		t.Fatalf("Installed = %+v, %v", m, err)
	}
	secret := append([]byte(nil), s.Secret()...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	defer s.Close()
	if m, _ := s.Machine(mac1); m.State != Installed {
		t.Errorf("after restart state %q, want installed", m.State)
	}
	if string(s.Secret()) != string(secret) {
		t.Error("the token secret changed across a restart")
	}
	ev, _ := s.Events(mac1, 0)
	var kinds []string
	for _, e := range ev {
		kinds = append(kinds, e.Kind)
	}
	if diff := cmp.Diff([]string{KindDHCP, KindTFTP, KindMenu, KindFile, KindCallback}, kinds); diff != "" {
		t.Errorf("events after restart (-want +got):\n%s", diff)
	}
	if last, _ := s.Events(mac1, 2); len(last) != 2 || last[1].Kind != KindCallback {
		t.Errorf("Events(limit 2) = %+v", last)
	}
	if m, err := s.Reinstall(mac1, true); err != nil || m.State != Assigned || !m.InstalledAt.IsZero() {
		t.Errorf("Reinstall = %+v, %v", m, err)
	}
	if _, err := s.Reinstall(qemu(0x99), false); !errors.Is(err, ErrUnknownMachine) {
		t.Errorf("Reinstall of an unknown, unlisted MAC: %v", err)
	}
}

func TestPrune(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), FileName))
	defer s.Close()
	s.MaxAge, s.MaxPerMachine = time.Hour, 3
	now := time.Now()
	for i := range 5 {
		s.Record(Event{Time: now.Add(time.Duration(-i) * time.Minute), MAC: mac1, Kind: KindDHCP, Outcome: OK})
	}
	s.Record(Event{Time: now.Add(-2 * time.Hour), MAC: mac2, Kind: KindDHCP, Outcome: OK})
	s.Record(Event{Time: now, MAC: mac2, Kind: KindDHCP, Outcome: OK})
	flush(t, s, mac1, 5)
	flush(t, s, mac2, 2)
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

func TestDamagedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, []byte(strings.Repeat("not a bbolt file ", 512)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Open of a damaged file = %v, want an error naming %s", err, path)
	}
}

// TestKill9LosesNoCommittedState runs a child that commits install state
// changes and prints each after it is committed, kills it with SIGKILL
// mid-stream, and checks that every acknowledged change survived.
func TestKill9LosesNoCommittedState(t *testing.T) {
	if os.Getenv("STATE_CHILD") != "" {
		child(os.Getenv("STATE_CHILD"))
		return
	}
	path := filepath.Join(t.TempDir(), FileName)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9LosesNoCommittedState$")
	cmd.Env = append(os.Environ(), "STATE_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "committed ")); err == nil {
			acked = n
		}
		if acked >= 40 {
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if acked < 40 {
		t.Fatalf("child acknowledged only %d commits", acked)
	}
	s := open(t, path)
	defer s.Close()
	for i := 1; i <= acked; i++ {
		mac := macN(i)
		if m, err := s.Machine(mac); err != nil || m.State != Installed {
			t.Fatalf("acknowledged machine %d (%s) lost after kill -9: %+v %v", i, mac, m, err)
		}
	}
}

func child(path string) {
	s, err := Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for i := 1; i < 100000; i++ {
		mac := macN(i)
		s.Record(Event{MAC: mac, Kind: KindDHCP, Outcome: OK})
		if _, err := s.Installed(mac, netip.Addr{}, true); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("committed %d\n", i)
	}
}

func TestRepeatsWithinASecondAreOneEvent(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), FileName))
	defer s.Close()
	t0 := time.Now()
	menu := func(ms int) Event {
		return Event{Time: t0.Add(time.Duration(ms) * time.Millisecond), MAC: mac1, Kind: KindMenu, Outcome: OK, Detail: "menu default"}
	}
	for ms := range 100 {
		s.Record(menu(ms)) // a client looping on its menu
	}
	s.Record(Event{Time: t0.Add(200 * time.Millisecond), MAC: mac1, Kind: KindAsset, Outcome: OK})
	s.Record(menu(300)) // not a repeat: something happened in between
	s.Record(menu(1500))
	flush(t, s, mac1, 4)
	time.Sleep(200 * time.Millisecond)
	if ev, _ := s.Events(mac1, 0); len(ev) != 4 {
		t.Errorf("%d events, want 4 (one of the 100 repeats, asset, menu, menu a second later): %+v", len(ev), ev)
	}
}

func TestPruneForgetsDiscoveredMachines(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), FileName))
	defer s.Close()
	s.MaxAge, s.MaxMachines = time.Hour, 2
	now := time.Now()
	macs := []hw.MAC{qemu(1), qemu(2), qemu(3), qemu(4)}
	for i, mac := range macs {
		s.Record(Event{Time: now.Add(-time.Duration(i) * time.Minute), MAC: mac, Kind: KindDHCP, Outcome: OK})
	}
	s.Record(Event{Time: now.Add(-3 * time.Hour), MAC: qemu(5), Kind: KindDHCP, Outcome: OK})
	s.Record(Event{Time: now.Add(-3 * time.Hour), MAC: mac1, Kind: KindMenu, Outcome: OK, Known: true})
	for _, mac := range append(macs, qemu(5), mac1) {
		flush(t, s, mac, 1)
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
		t.Error("a forgotten machine kept its state in memory")
	}
}
