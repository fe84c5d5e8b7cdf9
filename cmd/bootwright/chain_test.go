package main

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
)

// writeChain puts a chain-grub.ipxe override with body into dir.
func writeChain(t *testing.T, dir, body string) {
	t.Helper()
	p := filepath.Join(dir, "templates", "ipxe", "chain-grub.ipxe.tmpl")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCheckChainTemplates: a config dir that overrides a chain script
// with a broken one is refused by check, naming the file and line, both
// for a template that does not parse and for one that fails to run.
func TestCheckChainTemplates(t *testing.T) {
	for name, tc := range map[string]struct{ body, want string }{
		"does not parse": {"#!ipxe\n{{ if }}\n", "templates/ipxe/chain-grub.ipxe.tmpl:2:"},
		"fails to run":   {"#!ipxe\nset x 1\nchain {{ .TFTP }}{{ .Nope }}\n", "templates/ipxe/chain-grub.ipxe.tmpl:3:"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeChain(t, dir, tc.body)
			code, out := runCmd("check", dir)
			if code != 1 || !strings.Contains(out, tc.want) {
				t.Errorf("check = %d, want 1 and %q:\n%s", code, tc.want, out)
			}
		})
	}
}

// TestReloadKeepsLastGoodChain: serve's reload refuses a broken chain
// override, and TFTP keeps serving the script of the config in service.
func TestReloadKeepsLastGoodChain(t *testing.T) {
	dir := t.TempDir()
	writeChain(t, dir, "#!ipxe\necho good {{ (index .Files \"x86_64\").Name }}\n")
	b, err := bootconfig.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	live := bootconfig.NewLive(b)
	p := &boot.Policy{Config: live, PublicURL: "http://10.231.0.1:8080", Self: netip.MustParseAddr("10.231.0.1")}
	results := make(chan error, 4)
	r := &bootconfig.Reloader{Live: live, Dir: dir, Debounce: 5 * time.Millisecond, OnReload: func(err error) { results <- err },
		Load: func() (*bootconfig.Bundle, error) {
			b, err := bootconfig.Load(dir)
			if err != nil {
				return nil, err
			}
			return b, checkBundle(b, p.URL(), "", "")
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go r.Run(ctx)
	writeChain(t, dir, "#!ipxe\nchain {{ .Nope }}\n")
	r.Trigger()
	select {
	case err := <-results:
		if err == nil || !strings.Contains(err.Error(), "templates/ipxe/chain-grub.ipxe.tmpl:2:") {
			t.Fatalf("reload error = %v, want the template's file and line", err)
		}
	case <-ctx.Done():
		t.Fatal("no reload")
	}
	out, ok, err := p.TFTP(boot.ChainScriptName("grub"), netip.MustParseAddr("10.231.0.9"))
	if !ok || err != nil || string(out) != "#!ipxe\necho good grubx64.efi\n" {
		t.Errorf("after a refused reload, grub.ipxe = %q, %v, %v; want the last good one", out, ok, err)
	}
}
