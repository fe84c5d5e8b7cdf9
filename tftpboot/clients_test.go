package tftpboot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// realClient describes how to drive one Debian TFTP client binary.
type realClient struct {
	bin string
	get func(port, remote, local string) []string
	put func(port, local, remote string) []string
	// blksize and window are what the client negotiates for a large file.
	blksize, window float64
	// codeFmt, with the TFTP error code, is how the client prints it.
	codeFmt string
	// curlExit maps a TFTP error code to curl's exit status; clients
	// without it are checked by the message they print instead.
	curlExit map[int]int
}

// realClients are the clients NETBOOT-TESTING.md lists, atftp with and
// without windowsize. tftp-hpa cannot ask for blksize and exits 0 after
// an error packet, so every check looks at the output file and the
// printed text, not only the status.
var realClients = map[string]realClient{
	"tftp-hpa": {
		bin:     "tftp",
		blksize: 512, window: 1, codeFmt: "Error code %d:",
		get: func(port, remote, local string) []string {
			return []string{"-m", "binary", "127.0.0.1", port, "-c", "get", remote, local}
		},
		put: func(port, local, remote string) []string {
			return []string{"-m", "binary", "127.0.0.1", port, "-c", "put", local, remote}
		},
	},
	"atftp": {
		bin:     "atftp",
		blksize: 1468, window: 1,
		get: func(port, remote, local string) []string {
			return []string{"--option", "blksize 1468", "--option", "tsize 0", "-g", "-r", remote, "-l", local, "127.0.0.1", port}
		},
		put: func(port, local, remote string) []string {
			return []string{"-p", "-l", local, "-r", remote, "127.0.0.1", port}
		},
	},
	"atftp windowsize 8": {
		bin:     "atftp",
		blksize: 1468, window: 8,
		get: func(port, remote, local string) []string {
			return []string{"--option", "blksize 1468", "--option", "tsize 0", "--option", "windowsize 8",
				"-g", "-r", remote, "-l", local, "127.0.0.1", port}
		},
		put: func(port, local, remote string) []string {
			return []string{"-p", "-l", local, "-r", remote, "127.0.0.1", port}
		},
	},
	"busybox": {
		bin:     "busybox",
		blksize: 1468, window: 1, codeFmt: "(%d) ",
		get: func(port, remote, local string) []string {
			return []string{"tftp", "-g", "-b", "1468", "-r", remote, "-l", local, "127.0.0.1", port}
		},
		put: func(port, local, remote string) []string {
			return []string{"tftp", "-p", "-l", local, "-r", remote, "127.0.0.1", port}
		},
	},
	"curl": {
		bin:     "curl",
		blksize: 1468, window: 1,
		get: func(port, remote, local string) []string {
			return []string{"-sS", "--path-as-is", "-o", local, "--tftp-blksize", "1468", "tftp://127.0.0.1:" + port + "/" + remote}
		},
		put: func(port, local, remote string) []string {
			return []string{"-sS", "-T", local, "tftp://127.0.0.1:" + port + "/" + remote}
		},
		curlExit: map[int]int{1: 68, 2: 69}, // CURLE_TFTP_NOTFOUND, CURLE_TFTP_PERM
	},
}

// run runs the client with a deadline and returns its combined output
// and exit status.
func (c realClient) run(t *testing.T, args []string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = t.TempDir()
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %q: timed out; output:\n%s", c.bin, args, out)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %q: %v", c.bin, args, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// failed checks that a client run reported the TFTP error code with msg.
func (c realClient) failed(out string, exit, code int, msg string) error {
	if want, ok := c.curlExit[code]; ok {
		if exit != want {
			return fmt.Errorf("exit %d, want %d (TFTP error %d); output %q", exit, want, code, out)
		}
		return nil
	}
	if !strings.Contains(out, msg) {
		return fmt.Errorf("output %q does not contain %q (exit %d)", out, msg, exit)
	}
	if c.codeFmt != "" && !strings.Contains(out, fmt.Sprintf(c.codeFmt, code)) {
		return fmt.Errorf("output %q does not report error code %d", out, code)
	}
	return nil
}

// realFailures are requests every real client must see fail with a TFTP
// error, writing nothing. curl percent-decodes its URL path, so it sends
// "%2e%2e" as ".." and gets error 2 where the others get error 1.
var realFailures = map[string]struct {
	remote   string
	code     int
	msg      string
	curlCode int // when curl's differs
}{
	"missing":          {"missing.bin", 1, "file not found", 0},
	"traversal":        {"../../etc/passwd", 2, "access violation", 0},
	"rooted traversal": {"/../../etc/passwd", 2, "access violation", 0},
	"backslashes":      {`..\..\etc\passwd`, 2, "access violation", 0},
	"percent-encoded":  {"%2e%2e/%2e%2e/etc/passwd", 1, "file not found", 2},
	"absolute path":    {"/etc/passwd", 1, "file not found", 0},
	"symlink out":      {"link-out", 2, "access violation", 0},
	"symlink dir out":  {"link-dir-out/passwd", 2, "access violation", 0},
	"directory":        {"sub/dir", 2, "access violation", 0},
}

func TestRealClients(t *testing.T) {
	dir, want := makeUserRoot(t)
	for name, target := range map[string]string{"link-out": "/etc/passwd", "link-dir-out": "/etc"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{hw.NBPUndionly, hw.NBPSnponly, hw.NBPIPXEEFI} {
		want[name] = embedded(t, name)
	}
	for _, tp := range transferPaths {
		for cname, c := range realClients {
			t.Run(tp.name+"/"+cname, func(t *testing.T) {
				if _, err := exec.LookPath(c.bin); err != nil {
					t.Skipf("%s not installed (scripts/install-deps.sh installs it): %v", c.bin, err)
				}
				port, logs := clientServer(t, dir, tp)
				testClient(t, c, port, logs, want)
			})
		}
	}
}

// testClient runs one client's gets, failures and put against port.
func testClient(t *testing.T, c realClient, port string, logs *syncBuffer, want map[string][]byte) {
	for remote, content := range want {
		t.Run("get "+remote, func(t *testing.T) {
			local := filepath.Join(t.TempDir(), "out")
			out, exit := c.run(t, c.get(port, remote, local))
			got, err := os.ReadFile(local)
			if err != nil || !bytes.Equal(got, content) {
				t.Errorf("exit %d, %d bytes (%v), want %d identical bytes; output %q",
					exit, len(got), err, len(content), out)
			}
			rec := waitRecord(t, logs, "tftp transfer", remote)
			if len(content) > 1<<16 && (rec["blksize"] != c.blksize || rec["windowsize"] != c.window) {
				t.Errorf("negotiated blksize %v, windowsize %v; want %v, %v", rec["blksize"], rec["windowsize"], c.blksize, c.window)
			}
		})
	}
	for fname, f := range realFailures {
		t.Run(fname, func(t *testing.T) {
			code := f.code
			if c.curlExit != nil && f.curlCode != 0 {
				code = f.curlCode
			}
			local := filepath.Join(t.TempDir(), "out")
			out, exit := c.run(t, c.get(port, f.remote, local))
			if err := c.failed(out, exit, code, f.msg); err != nil {
				t.Error(err)
			}
			if got, _ := os.ReadFile(local); len(got) != 0 {
				t.Errorf("%q: client wrote %d bytes", f.remote, len(got))
			}
		})
	}
	t.Run("put", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "upload.bin")
		writeFile(t, local, []byte("not welcome"))
		out, exit := c.run(t, c.put(port, local, "upload.bin"))
		if err := c.failed(out, exit, 2, "write requests are refused"); err != nil {
			t.Error(err)
		}
	})
}

// clientServer starts a Server over dir for one client's tests and
// returns its port and log.
func clientServer(t *testing.T, dir string, tp transferPath) (string, *syncBuffer) {
	t.Helper()
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	addr := startServer(t, tp.with(&Server{Files: files, Logger: jsonLogger(logs)}))
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port, logs
}
