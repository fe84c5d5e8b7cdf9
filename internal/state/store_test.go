package state

import (
	"bufio"
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
