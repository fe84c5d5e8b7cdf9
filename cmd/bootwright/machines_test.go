package main

import (
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/httpboot"
	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

// machinesAPI serves the API for testdata/badfile (machine m1) from a
// new state store, with API token tok.
func machinesAPI(t *testing.T, tok string) (*state.Store, *httptest.Server) {
	t.Helper()
	b, err := bootconfig.Load("testdata/badfile")
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(filepath.Join(t.TempDir(), state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	hs := &httpboot.Server{Boot: &boot.Policy{Config: bootconfig.NewLive(b), PublicURL: "http://x", State: st}, APIToken: tok}
	srv := httptest.NewServer(hs.Handler())
	t.Cleanup(func() { srv.Close(); st.Close() })
	return st, srv
}

func TestMachinesCommand(t *testing.T) {
	_, srv := machinesAPI(t, "tok")

	code, out := runCmd("machines", "--server", srv.URL, "list")
	if code != 0 || !strings.Contains(out, "52:54:00:00:00:01  m1    assigned") {
		t.Errorf("list = %d:\n%s", code, out)
	}
	if code, out := runCmd("machines", "--server", srv.URL, "reinstall", "52-54-00-00-00-01"); code != 1 || !strings.Contains(out, "401") {
		t.Errorf("reinstall without a token = %d:\n%s", code, out)
	}
	if code, out := runCmd("machines", "--server", srv.URL, "--api-token", "tok", "reinstall", "52:54:00:00:00:01"); code != 0 || !strings.Contains(out, `"state": "assigned"`) {
		t.Errorf("reinstall = %d:\n%s", code, out)
	}
	if code, out := runCmd("machines", "--server", srv.URL, "show", "02:00:00:00:00:99"); code != 1 || !strings.Contains(out, "404") {
		t.Errorf("show of an unknown MAC = %d:\n%s", code, out)
	}
	if code, _ := runCmd("machines", "frob"); code != 2 {
		t.Errorf("bad subcommand = %d, want 2", code)
	}
}

// adopt prints machines.yaml entries for discovered machines that load
// as they are, and refuses a MAC that is not discovered.
func TestMachinesAdopt(t *testing.T) {
	st, srv := machinesAPI(t, "")
	for _, e := range []state.Event{
		{MAC: hw.MustParseMAC("52:54:00:00:00:01"), Kind: state.KindDHCP, Outcome: state.OK, Known: true},
		{MAC: hw.MustParseMAC("02:00:00:00:00:05"), Kind: state.KindDHCP, Outcome: state.OK, IP: netip.MustParseAddr("10.0.0.5"), Arch: hw.ArchEFIx64},
		{MAC: hw.MustParseMAC("02:00:00:00:00:06"), Kind: state.KindTFTP, Outcome: state.OK, IP: netip.MustParseAddr("10.0.0.6")},
	} {
		st.Record(e)
	}
	deadline := time.Now().Add(5 * time.Second)
	for st.StateOf(hw.MustParseMAC("02:00:00:00:00:06")) == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	code, out := runCmd("machines", "--server", srv.URL, "adopt")
	if code != 0 || strings.Count(out, "  - mac: ") != 2 || strings.Contains(out, "52:54:00:00:00:01") ||
		!strings.Contains(out, "address 10.0.0.5, arch efi-x64") {
		t.Fatalf("adopt = %d:\n%s", code, out)
	}
	// The entries, under machines:, are a machines file that loads.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "menus"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "menus", "machines.yaml"), []byte("machines:\n"+out), 0o644); err != nil {
		t.Fatal(err)
	}
	adopted, err := bootconfig.Load(dir)
	if err != nil {
		t.Fatalf("adopted entries do not load: %v\n%s", err, out)
	}
	var names []string
	for _, mac := range []hw.MAC{{2, 0, 0, 0, 0, 5}, {2, 0, 0, 0, 0, 6}} {
		if m := adopted.Menus.Machines[mac]; m != nil {
			names = append(names, m.Name)
		}
	}
	if diff := cmp.Diff([]string{"m-020000000005", "m-020000000006"}, names); diff != "" {
		t.Errorf("adopted machines (-want +got):\n%s", diff)
	}

	code, out = runCmd("machines", "--server", srv.URL, "adopt", "02-00-00-00-00-06", "52:54:00:00:00:01")
	if code != 1 || strings.Count(out, "  - mac: ") != 1 || !strings.Contains(out, `"02:00:00:00:00:06"`) ||
		!strings.Contains(out, "52:54:00:00:00:01 is not a discovered machine (assigned)") {
		t.Errorf("adopt of one discovered and one listed MAC = %d:\n%s", code, out)
	}
}
