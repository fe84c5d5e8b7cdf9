package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/menus"
	"github.com/bootwright/bootwright/tftpboot"
)

func TestTFTPFlags(t *testing.T) {
	c, err := parseServe(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := tftpConfig{timeout: time.Second, retries: 5, maxTransfers: 1000}
	if diff := cmp.Diff(want, c.tftp, cmp.AllowUnexported(tftpConfig{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	dir := t.TempDir()
	c, err = parseServe(t, []string{"--tftp-timeout=250ms", "--tftp-retries=3", "--tftp-max-transfers=0",
		"--tftp-max-blksize=1468", "--tftp-loader-dir=" + dir}, map[string]string{"BOOTWRIGHT_TFTP_SINGLE_PORT": "true"})
	if err != nil {
		t.Fatal(err)
	}
	want = tftpConfig{timeout: 250 * time.Millisecond, retries: 3, maxBlksize: 1468, singlePort: true, loaders: tftpboot.Loaders{Dir: dir}}
	if diff := cmp.Diff(want, c.tftp, cmp.AllowUnexported(tftpConfig{})); diff != "" {
		t.Errorf("set (-want +got):\n%s", diff)
	}
	for args, msg := range map[string]string{
		"--tftp-timeout=1ms":         "--tftp-timeout 1ms: want 10ms to 255s",
		"--tftp-timeout=5m":          "--tftp-timeout 5m0s: want 10ms to 255s",
		"--tftp-retries=0":           "--tftp-retries 0: want 1 to 100",
		"--tftp-max-transfers=-1":    "--tftp-max-transfers -1",
		"--tftp-max-blksize=512":     "--tftp-max-blksize 512: want 0 or 513 to 65464",
		"--tftp-max-blksize=65465":   "--tftp-max-blksize 65465",
		"--tftp-loader-dir=/nowhere": "--tftp-loader-dir: stat /nowhere",
	} {
		if _, err := parseServe(t, []string{args}, nil); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: err = %v, want %q", args, err, msg)
		}
	}
}

// loaderConfig is a config tree with machines on each loader, a group
// that gives every 52:54:00:77 machine GRUB, one that selects by arch,
// Secure Boot machines and a group that makes 52:54:00:88 machines
// Secure Boot ones.
const loaderMachines = `machines:
  - {mac: "52:54:00:00:00:01", name: pxe-1, loader: pxelinux, default: os, timeout: 1500ms, args: m=pxe-1}
  - {mac: "52:54:00:00:00:02", name: grub-2, loader: grub, default: os, timeout: 0s, args: m=grub-2}
  - {mac: "52:54:00:00:00:03", name: ipxe-3, hostname: three.example, args: m=ipxe-3}
  - {mac: "52:54:00:00:00:04", name: own-4, loader: pxelinux, ipxe_script: "http://elsewhere/x.ipxe"}
  - {mac: "52:54:00:77:00:05", name: grouped-5}
  - {mac: "52:54:00:00:00:06", name: sb-6, secure_boot: true, default: os, args: m=sb-6}
  - {mac: "52:54:00:00:00:07", name: sb-grub-7, secure_boot: true, loader: grub}
  - {mac: "52:54:00:88:00:08", name: sb-pxe-8, loader: pxelinux}
  - {mac: "52:54:00:88:00:09", name: sb-off-9, secure_boot: false}
groups:
  - {name: grubs, match: {macs: ["52:54:00:77"]}, loader: grub}
  - {name: efi, match: {arch: [efi-x64]}, loader: grub}
  - {name: sbs, match: {macs: ["52:54:00:88"]}, secure_boot: true}
`

func loadLoaderConfig(t *testing.T) *bootconfig.Bundle {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "menus"), 0o755)
	os.WriteFile(filepath.Join(dir, "menus", "machines.yaml"), []byte(loaderMachines), 0o644)
	os.WriteFile(filepath.Join(dir, "menus", "default.yaml"), []byte(`title: Test
timeout: 10s
entries:
  - {name: local, title: Local disk, type: local}
  - {name: os, title: An OS, type: kernel, kernel: os/vmlinuz, initrds: [os/initrd.gz], args: console=ttyS0}
`), 0o644)
	b, err := bootconfig.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testRenderer is the renderer build makes, for the config above, with
// a fixed neighbour table.
func testRenderer(t *testing.T, neigh map[netip.Addr]string) (*tftpRenderer, *bootconfig.Bundle) {
	t.Helper()
	b := loadLoaderConfig(t)
	c := &config{self: netip.MustParsePrefix("10.231.0.1/24")}
	c.publicURL, _ = url.Parse("http://10.231.0.1:8080")
	r := newTFTPRenderer(c, bootconfig.NewLive(b), nil, nil, slog.New(slog.DiscardHandler))
	r.neighbor = func(ip netip.Addr) (net.HardwareAddr, bool) {
		mac, err := net.ParseMAC(neigh[ip])
		return mac, err == nil
	}
	return r, b
}

// wantMenu renders a menu the way bootwright render and the HTTP server
// do: the bundle's RenderMenu for the machine's MAC and the loader's arch.
func wantMenu(t *testing.T, b *bootconfig.Bundle, kind tftpboot.ConfigKind, mac string, client netip.Addr) string {
	t.Helper()
	tm := menuTemplates[kind]
	req := menus.Request{Arch: tm.arch, BuildArch: tm.buildarch, Platform: tm.platform, ClientIP: client}
	if mac != "" {
		req.MAC, _ = net.ParseMAC(mac)
	}
	out, _, err := b.RenderMenu(tm.tmpl, req, menus.Server{URL: "http://10.231.0.1:8080", AssetsURL: "http://10.231.0.1:8080/assets"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestTFTPRender(t *testing.T) {
	known := netip.MustParseAddr("10.231.0.101")
	stranger := netip.MustParseAddr("10.231.0.199")
	r, b := testRenderer(t, map[netip.Addr]string{known: "52:54:00:00:00:01"})
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
		"grub.cfg unknown":         {"grub/grub.cfg", stranger, grubDispatch},
		"unknown mac":              {"pxelinux.cfg/01-02-00-00-00-00-09", stranger, wantMenu(t, b, pxe, "02:00:00:00:00:09", stranger)},
		"a file":                   {"lpxelinux.0", known, ""},
		"uuid name":                {"pxelinux.cfg/8c6f3c4e-0b4a-4e7b-9a5e-3b1c2d4e5f60", known, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok, err := r.render(tc.name, tc.peer)
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
		"grub/grub.cfg-01-52-54-00-00-00-02": "set timeout=-1\n", // 0: wait, as iPXE does
		"pxelinux.cfg/01-52-54-00-00-00-02":  "TIMEOUT 0\n",
		"bootwright/pxelinux.ipxe":           "set 210:string tftp://10.231.0.1/\nchain tftp://10.231.0.1/pxelinux.0 || goto bw-failed\n",
		"bootwright/grub.ipxe":               "chain tftp://10.231.0.1/grubx64.efi || goto bw-failed\n",
	} {
		got, ok, err := r.render(name, stranger)
		if !ok || err != nil || !strings.Contains(string(got), want) {
			t.Errorf("render(%q) = %v, %v, want it to contain %q:\n%s", name, ok, err, want, got)
		}
	}
}

// TestTFTPRenderedRealClients fetches the rendered menus through the
// TFTP server serve builds, with Debian's TFTP clients, and compares
// them with what the config renders for the machine.
func TestTFTPRenderedRealClients(t *testing.T) {
	r, b := testRenderer(t, nil)
	c := &config{tftp: tftpConfig{timeout: time.Second, retries: 5, maxTransfers: 10}}
	files, err := tftpFiles(c)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTFTPServer(c, files, r, slog.New(slog.DiscardHandler))
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.Serve(conn)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ts.Shutdown(ctx)
	})
	_, port, _ := net.SplitHostPort(conn.LocalAddr().String())
	lo := netip.MustParseAddr("127.0.0.1")
	files2 := map[string]string{
		"pxelinux.cfg/01-52-54-00-00-00-01":  wantMenu(t, b, tftpboot.ConfigPXELinux, "52:54:00:00:00:01", lo),
		"grub/grub.cfg-01-52-54-00-00-00-02": wantMenu(t, b, tftpboot.ConfigGRUB, "52:54:00:00:00:02", lo),
	}
	clients := map[string]func(remote, local string) []string{
		"tftp": func(remote, local string) []string {
			return []string{"-m", "binary", "127.0.0.1", port, "-c", "get", remote, local}
		},
		"atftp": func(remote, local string) []string {
			return []string{"--option", "blksize 1468", "--option", "tsize 0", "-g", "-r", remote, "-l", local, "127.0.0.1", port}
		},
		"curl": func(remote, local string) []string {
			return []string{"-sS", "-o", local, "--tftp-blksize", "1468", "tftp://127.0.0.1:" + port + "/" + remote}
		},
	}
	for bin, args := range clients {
		t.Run(bin, func(t *testing.T) {
			if _, err := exec.LookPath(bin); err != nil {
				t.Skipf("%s not installed (scripts/install-deps.sh installs it)", bin)
			}
			for remote, want := range files2 {
				local := filepath.Join(t.TempDir(), "out")
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				out, err := exec.CommandContext(ctx, bin, args(remote, local)...).CombinedOutput()
				cancel()
				got, rerr := os.ReadFile(local)
				if err != nil || rerr != nil || !bytes.Equal(got, []byte(want)) {
					t.Errorf("%s get %s: %v %v, output %q; got (-want +got):\n%s", bin, remote, err, rerr, out, cmp.Diff(want, string(got)))
				}
			}
		})
	}
}
