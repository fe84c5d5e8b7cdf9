package main

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/tftpboot"
)

// TestTFTPSecureBoot serves a Secure Boot machine's files the way serve
// does: the assets directory is on TFTP under assets/, confined to it,
// and curl fetches a kernel from it. (Its GRUB menu is package boot's.)
func TestTFTPSecureBoot(t *testing.T) {
	assets := t.TempDir()
	os.MkdirAll(filepath.Join(assets, "os"), 0o755)
	os.WriteFile(filepath.Join(assets, "os", "vmlinuz"), []byte("signed kernel"), 0o644)
	os.WriteFile(filepath.Join(filepath.Dir(assets), "outside"), []byte("secret"), 0o644)
	os.Symlink("../../outside", filepath.Join(assets, "os", "escape"))

	c := &config{self: netip.MustParsePrefix("10.231.0.1/24"), tftpAddr: ":69", assetsDir: assets,
		tftp: tftpConfig{timeout: time.Second, retries: 5, maxTransfers: 10}}
	files, err := tftpFiles(c)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]error{
		"os/vmlinuz":        fs.ErrNotExist, // only under assets/
		"assets/os/escape":  tftpboot.ErrAccessViolation,
		"assets/os":         tftpboot.ErrAccessViolation,
		"assets/os/nope":    fs.ErrNotExist,
		"assets/os/vmlinuz": nil,
	} {
		f, err := files.Open(name)
		if !errors.Is(err, want) {
			t.Errorf("Open(%q) = %v, want %v", name, err, want)
		}
		if err == nil {
			f.Close()
		}
	}

	// The kernel fetched by curl from the server serve builds.
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed (scripts/install-deps.sh installs it)")
	}
	ts := newTFTPServer(c, files, testPolicy(t), slog.New(slog.DiscardHandler))
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "curl", "-sS", "--tftp-blksize", "1024", "tftp://"+conn.LocalAddr().String()+"/assets/os/vmlinuz").CombinedOutput()
	if err != nil || string(out) != "signed kernel" {
		t.Errorf("curl assets/os/vmlinuz: %v, %q", err, out)
	}
}

// TestCheckSecureBoot: check refuses a Secure Boot machine's upstream
// http:// kernel (GRUB has no http module under Secure Boot) and accepts
// its kernels from the assets directory, which serve puts on TFTP.
func TestCheckSecureBoot(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "menus"), 0o755)
	os.WriteFile(filepath.Join(dir, "menus", "machines.yaml"), []byte(
		"machines:\n  - {mac: '52:54:00:00:00:06', name: sb-6, secure_boot: true}\n  - {mac: '52:54:00:00:00:07', name: plain-7}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "menus", "default.yaml"), []byte(`entries:
  - {name: local, type: local}
  - {name: ours, kernel: os/vmlinuz, initrds: [os/initrd.gz]}
  - {name: upstream, kernel: "http://deb.example/linux"}
`), 0o644)
	code, out := runCmd("check", dir)
	want := `menus/default.yaml: entry "upstream": with secure_boot GRUB loads no http module and cannot fetch http://deb.example/linux; put the file under --assets-dir (served over TFTP too) or give it a tftp:// URL [machine sb-6 (efi-x64)]`
	if code != 1 || !strings.Contains(out, want) || strings.Contains(out, "os/vmlinuz") || !strings.Contains(out, ": 1 problem, 0 warnings") {
		t.Errorf("check = %d, want 1 and only\n%s\ngot:\n%s", code, want, out)
	}
}
