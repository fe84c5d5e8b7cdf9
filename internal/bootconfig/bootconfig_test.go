package bootconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/golden"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/menus"
)

var srv = menus.Server{URL: "http://10.231.0.1:8080", AssetsURL: "http://10.231.0.1:8080/assets",
	TFTPAssetsURL: "tftp://10.231.0.1/assets"}

func TestRenderMenuGolden(t *testing.T) {
	site, err := Load("testdata/site")
	if err != nil {
		t.Fatal(err)
	}
	assets, err := menus.ScanAssets(os.DirFS("testdata/assets"))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		mac      string
		platform string
		assets   []menus.AssetDir
	}{
		"known_bios_with_assets": {"52:54:00:12:34:56", "pcbios", assets},
		"known_efi_lab_menu":     {"52:54:00:12:34:57", "efi", assets},
		"unknown_efi":            {"02:00:00:00:00:01", "efi", nil},
		// secure_boot: this server's assets over TFTP, upstream files left
		// as they are (Check reports them).
		"known_efi_secureboot": {"52:54:00:12:34:58", "efi", assets},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mac, _ := hw.ParseMAC(tc.mac)
			req := menus.Request{MAC: mac, BuildArch: "x86_64", Platform: tc.platform, Arch: hw.ArchFromIPXE("x86_64", tc.platform)}
			for tmpl, ext := range map[string]string{IPXEMenu: ".ipxe", GRUBMenu: ".grub.cfg", PXELinuxMenu: ".pxelinux.cfg"} {
				out, _, err := site.RenderMenu(tmpl, req, srv, tc.assets)
				if err != nil {
					t.Fatal(err)
				}
				golden.Assert(t, filepath.Join("testdata", "golden", name+ext), string(out))
			}
		})
	}
}

func TestRenderBootScript(t *testing.T) {
	site, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	out, err := site.RenderBootScript(srv)
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "golden", "boot.ipxe"), string(out))
}

func TestDefaultsWithoutConfigDir(t *testing.T) {
	site, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := hw.ParseMAC("02:00:00:00:00:02")
	out, d, err := site.RenderMenu(IPXEMenu, menus.Request{MAC: mac, Platform: "pcbios", Arch: hw.ArchBIOS}, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The catalog is on: its submenus, each with what a BIOS machine
	// boots; the unattended installers stay hidden until their
	// variables are set.
	var names []string
	for _, e := range d.Menu.Entries {
		names = append(names, e.Name)
	}
	if diff := cmp.Diff([]string{"local", "install", "live", "tools", "servers", "shell"}, names); diff != "" {
		t.Errorf("default entries (-want +got):\n%s", diff)
	}
	var install []string
	for _, e := range d.Menu.Entries[1].Submenu.Entries {
		install = append(install, e.Name)
	}
	want := []string{"debian-13", "debian-12", "ubuntu-24.04", "fedora", "almalinux-10", "almalinux-9", "rocky-10", "rocky-9", "opensuse-leap", "openbsd"}
	if diff := cmp.Diff(want, install); diff != "" {
		t.Errorf("install entries for BIOS (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(string(out), "#!ipxe\n") {
		t.Errorf("menu does not start with #!ipxe:\n%s", out)
	}
}

// A Secure Boot machine's GRUB can load files over TFTP only: Check
// reports every other URL in its menu, under efi-x64 (the arch that is
// sent shim) and for that machine alone.
func TestCheckSecureBoot(t *testing.T) {
	site, err := Load("testdata/site")
	if err != nil {
		t.Fatal(err)
	}
	errs, _ := site.Check(CheckOptions{Server: srv})
	var got []string
	for _, p := range errs {
		got = append(got, p.String())
	}
	const tail = "; put the file under --assets-dir (served over TFTP too) or give it a tftp:// URL [machine vm-sb (efi-x64)]"
	want := []string{
		`menus/lab.yaml: entry "tools": with secure_boot GRUB loads no http module and cannot fetch http://10.231.0.1:8080/files/vm-sb/tools.ipxe?g=hello` + tail,
		`menus/lab.yaml: entry "rescue": with secure_boot GRUB loads no http module and cannot fetch http://mirror.example/debian/extra/initrd.img` + tail,
		`menus/tools.yaml: entry "netboot": with secure_boot GRUB loads no http module and cannot fetch http://boot.example/menu.ipxe` + tail,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
}

// TestCheckRaspberryPi: a Pi whose default entry it cannot load over
// TFTP is a problem; one that boots the local disk is not.
func TestCheckRaspberryPi(t *testing.T) {
	b, err := LoadOver(fstest.MapFS{
		"menus/default.yaml": {Data: []byte(`title: t
default: net
entries:
  - {name: local, type: local}
  - {name: net, kernel: "http://mirror.example/linux"}
  - {name: ok, kernel: os/vmlinuz, initrds: [os/initrd.gz]}
`)},
		"menus/machines.yaml": {Data: []byte(`machines:
  - {mac: "dc:a6:32:00:00:01", name: pi-net, loader: raspberrypi}
  - {mac: "dc:a6:32:00:00:02", name: pi-ok, loader: raspberrypi, default: ok}
  - {mac: "dc:a6:32:00:00:03", name: pi-local, loader: raspberrypi, default: local}
  - {mac: "52:54:00:00:00:04", name: pc-net}
`)},
	}, "pi")
	if err != nil {
		t.Fatal(err)
	}
	s := srv
	s.TFTPAssetsURL = "tftp://10.231.0.1/assets"
	errs, _ := b.Check(CheckOptions{Server: s})
	var got []string
	for _, p := range errs {
		got = append(got, p.String())
	}
	want := []string{`machine pi-net: entry "net": a Raspberry Pi loads files over TFTP only and cannot fetch http://mirror.example/linux; put the file under --assets-dir (served over TFTP too) [machine pi-net (efi-arm64)]`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
}
