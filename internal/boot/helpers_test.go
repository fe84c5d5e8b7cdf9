package boot

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
)

// loadLoaderConfig loads testdata/loaders: machines on each loader, a
// group that gives every 52:54:00:77 machine GRUB, one that selects by
// arch, Secure Boot machines and a group that makes 52:54:00:88 machines
// Secure Boot ones.
func loadLoaderConfig(t *testing.T) *bootconfig.Bundle {
	t.Helper()
	b, err := bootconfig.Load("testdata/loaders")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testPolicy is the policy serve builds for the config above, at address
// self, with a neighbour table that knows no one.
func testPolicy(t *testing.T, self string, proxy bool) *Policy {
	t.Helper()
	return &Policy{Config: bootconfig.NewLive(loadLoaderConfig(t)), PublicURL: "http://" + self + ":8080",
		Self: netip.MustParseAddr(self), Proxy: proxy, Logger: slog.New(slog.DiscardHandler),
		Neighbor: func(netip.Addr) (hw.MAC, bool) { return hw.MAC{}, false }}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
