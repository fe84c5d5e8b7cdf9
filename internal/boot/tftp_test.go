package boot

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/menus"
	"github.com/bootwright/bootwright/tftpboot"
)

// wantMenu renders a menu the way bootwright render and the HTTP server
// do: the bundle's RenderMenu for the machine's MAC and the loader's arch.
func wantMenu(t *testing.T, b *bootconfig.Bundle, kind tftpboot.ConfigKind, mac string, client netip.Addr) string {
	t.Helper()
	tmpl, arch := map[tftpboot.ConfigKind]string{tftpboot.ConfigPXELinux: bootconfig.PXELinuxMenu, tftpboot.ConfigGRUB: bootconfig.GRUBMenu}[kind],
		map[tftpboot.ConfigKind]hw.Arch{tftpboot.ConfigPXELinux: hw.ArchBIOS, tftpboot.ConfigGRUB: hw.ArchEFIx64}[kind]
	buildarch, platform := arch.IPXE()
	req := menus.Request{Arch: arch, BuildArch: buildarch, Platform: platform, ClientIP: client}
	if mac != "" {
		req.MAC, _ = hw.ParseMAC(mac)
	}
	out, _, err := b.RenderMenu(tmpl, req, menus.Server{URL: "http://10.231.0.1:8080", AssetsURL: "http://10.231.0.1:8080/assets"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestTFTPRender(t *testing.T) {
	known := netip.MustParseAddr("10.231.0.101")
	stranger := netip.MustParseAddr("10.231.0.199")
	p := testPolicy(t, "10.231.0.1", false)
	p.Neighbor = func(ip netip.Addr) (hw.MAC, bool) { return hw.MAC{0x52, 0x54, 0, 0, 0, 1}, ip == known }
	b := p.Config.Load()
	pxe, grub := tftpboot.ConfigPXELinux, tftpboot.ConfigGRUB
	tests := map[string]struct {
		name string
		peer netip.Addr
		want string // "" means not rendered
	}{
		"pxelinux by mac":          {"pxelinux.cfg/01-52-54-00-00-00-01", stranger, wantMenu(t, b, pxe, "52:54:00:00:00:01", stranger)},
		"grub by mac":              {"grub/grub.cfg-01-52-54-00-00-00-02", stranger, wantMenu(t, b, grub, "52:54:00:00:00:02", stranger)},
		"grub by $net_default_mac": {"grub/grub.cfg-01-52:54:00:00:00:02", stranger, wantMenu(t, b, grub, "52:54:00:00:00:02", stranger)},
		"pxelinux default by arp":  {"pxelinux.cfg/default", known, wantMenu(t, b, pxe, "52:54:00:00:00:01", known)},
		"grub.cfg by arp":          {"grub/grub.cfg", known, wantMenu(t, b, grub, "52:54:00:00:00:01", known)},
		"pxelinux default unknown": {"pxelinux.cfg/default", stranger, wantMenu(t, b, pxe, "", stranger)},
		"grub.cfg unknown":         {"grub/grub.cfg", stranger, "# bootwright: this machine's menu is grub.cfg-01-<its MAC>\nconfigfile $prefix/grub.cfg-01-$net_default_mac\n"},
		"unknown mac":              {"pxelinux.cfg/01-02-00-00-00-00-09", stranger, wantMenu(t, b, pxe, "02:00:00:00:00:09", stranger)},
		"a file":                   {"lpxelinux.0", known, ""},
		"uuid name":                {"pxelinux.cfg/8c6f3c4e-0b4a-4e7b-9a5e-3b1c2d4e5f60", known, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok, err := p.TFTP(tc.name, tc.peer)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tc.want != "") {
				t.Fatalf("render(%q) ok = %v", tc.name, ok)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("render(%q) (-want +got):\n%s", tc.name, diff)
			}
		})
	}
	for name, want := range map[string]string{
		"pxelinux.cfg/01-52-54-00-00-00-01":  "TIMEOUT 15\n",     // 1500ms rounded up
		"grub/grub.cfg-01-52-54-00-00-00-01": "set timeout=2\n",  // 1500ms rounded up
		"grub/grub.cfg-01-52-54-00-00-00-02": "set timeout=0\n",  // 0s: at once
		"pxelinux.cfg/01-52-54-00-00-00-02":  "TIMEOUT 1\n",      // 0s: PXELINUX's shortest
		"grub/grub.cfg-01-52-54-00-00-00-03": "set timeout=-1\n", // never: wait
		"pxelinux.cfg/01-52-54-00-00-00-03":  "TIMEOUT 0\n",
		"bootwright/pxelinux.ipxe":           "set 210:string tftp://10.231.0.1/\nchain tftp://10.231.0.1/pxelinux.0 || goto bw-failed\n",
		"bootwright/grub.ipxe":               "iseq ${buildarch} x86_64 && goto bw-x86_64 ||\n",
		"bootwright/grub.ipxe ":              "chain tftp://10.231.0.1/grubaa64.efi || goto bw-failed-arm64\n",
	} {
		got, ok, err := p.TFTP(strings.TrimSpace(name), stranger)
		if !ok || err != nil || !strings.Contains(string(got), want) {
			t.Errorf("render(%q) = %v, %v, want it to contain %q:\n%s", name, ok, err, want, got)
		}
	}
}

// TestTFTPSecureBoot: a Secure Boot machine's GRUB menu loads this
// server's assets over TFTP, with no http module; another machine's GRUB
// menu keeps HTTP.
func TestTFTPSecureBoot(t *testing.T) {
	p := testPolicy(t, "10.231.0.1", false)
	p.TFTPAssets = true
	peer := netip.MustParseAddr("10.231.0.106")
	for name, want := range map[string]struct{ has, hasNot []string }{
		"grub/grub.cfg-01-52-54-00-00-00-06": {
			has:    []string{"linux (tftp,10.231.0.1)/assets/os/vmlinuz console=ttyS0 m=sb-6\n", "initrd (tftp,10.231.0.1)/assets/os/initrd.gz\n"},
			hasNot: []string{"insmod", "(http,"},
		},
		"grub/grub.cfg-01-52-54-00-00-00-02": {has: []string{"insmod http\n", "linux (http,10.231.0.1:8080)/assets/os/vmlinuz"}},
	} {
		got, ok, err := p.TFTP(name, peer)
		if !ok || err != nil {
			t.Fatalf("TFTP(%q) = %v, %v", name, ok, err)
		}
		for _, s := range want.has {
			if !strings.Contains(string(got), s) {
				t.Errorf("%s lacks %q:\n%s", name, s, got)
			}
		}
		for _, s := range want.hasNot {
			if strings.Contains(string(got), s) {
				t.Errorf("%s has %q:\n%s", name, s, got)
			}
		}
	}
}
