package main

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/httpboot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/state"
)

func TestMachinesCommand(t *testing.T) {
	b, err := bootconfig.Load("testdata/badfile")
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(filepath.Join(t.TempDir(), state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hs := &httpboot.Server{Config: bootconfig.NewLive(b), PublicURL: "http://x", State: st, APIToken: "tok"}
	srv := httptest.NewServer(hs.Handler())
	defer srv.Close()

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
