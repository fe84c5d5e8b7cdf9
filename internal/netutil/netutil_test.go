package netutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultRouteInterface(t *testing.T) {
	table := `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth1	0002A8C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
eth0	00000000	0102A8C0	0003	0	0	0	00000000	0	0	0
`
	p := filepath.Join(t.TempDir(), "route")
	if err := os.WriteFile(p, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := defaultRouteInterface(p); got != "eth0" {
		t.Errorf("defaultRouteInterface = %q, want eth0", got)
	}
	if got := defaultRouteInterface(filepath.Join(t.TempDir(), "missing")); got != "" {
		t.Errorf("missing table gave %q", got)
	}
}

func TestInterfaceIPv4Loopback(t *testing.T) {
	p, err := InterfaceIPv4("lo")
	if err != nil {
		t.Skip("no lo interface:", err)
	}
	if !p.Addr().IsLoopback() {
		t.Errorf("lo address %v is not loopback", p)
	}
	if _, err := InterfaceIPv4("does-not-exist0"); err == nil {
		t.Error("missing interface accepted")
	}
}
