package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/tftpboot"
)

func TestTFTPFlags(t *testing.T) {
	c, err := parseServe(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := tftpConfig{timeout: time.Second, retries: 5, maxTransfers: 1000, maxWindow: tftpboot.DefaultMaxWindowSize}
	if diff := cmp.Diff(want, c.tftp, cmp.AllowUnexported(tftpConfig{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	dir := t.TempDir()
	c, err = parseServe(t, []string{"--tftp-timeout=250ms", "--tftp-retries=3", "--tftp-max-transfers=0",
		"--tftp-max-blksize=1468", "--tftp-loader-dir=" + dir},
		map[string]string{"BOOTWRIGHT_TFTP_SINGLE_PORT": "true", "BOOTWRIGHT_TFTP_MAX_WINDOWSIZE": "4"})
	if err != nil {
		t.Fatal(err)
	}
	want = tftpConfig{timeout: 250 * time.Millisecond, retries: 3, maxBlksize: 1468, maxWindow: 4, singlePort: true, loaders: tftpboot.Loaders{Dir: dir}}
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
		"--tftp-max-windowsize=0":    "--tftp-max-windowsize 0: want 1 to 64",
		"--tftp-max-windowsize=65":   "--tftp-max-windowsize 65: want 1 to 64",
	} {
		if _, err := parseServe(t, []string{args}, nil); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: err = %v, want %q", args, err, msg)
		}
	}
}

// testPolicy is the boot policy serve builds at 10.231.0.1, for the
// loader config of package boot's tests.
func testPolicy(t *testing.T) *boot.Policy {
	t.Helper()
	b, err := bootconfig.Load("../../internal/boot/testdata/loaders")
	if err != nil {
		t.Fatal(err)
	}
	return &boot.Policy{Config: bootconfig.NewLive(b), PublicURL: "http://10.231.0.1:8080", Self: netip.MustParseAddr("10.231.0.1"),
		Logger: slog.New(slog.DiscardHandler)}
}

// TestTFTPRenderedRealClients fetches the rendered menus through the
// TFTP server serve builds, with Debian's TFTP clients, and compares
// them with what the config renders for the machine.
func TestTFTPRenderedRealClients(t *testing.T) {
	p := testPolicy(t)
	c := &config{tftp: tftpConfig{timeout: time.Second, retries: 5, maxTransfers: 10, maxWindow: 4}}
	files, err := tftpFiles(c)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTFTPServer(c, files, p, slog.New(slog.DiscardHandler))
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
	files2 := map[string]string{}
	for _, name := range []string{"pxelinux.cfg/01-52-54-00-00-00-01", "grub/grub.cfg-01-52-54-00-00-00-02"} {
		want, ok, err := p.TFTP(name, lo)
		if !ok || err != nil {
			t.Fatalf("render %s: %v %v", name, ok, err)
		}
		files2[name] = string(want)
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
