package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ipxeVars are the settings iPXE expands in the scripts a machine gets:
// an x86-64 UEFI build (snponly.efi) on mac.
func ipxeVars(mac net.HardwareAddr) map[string]string {
	return map[string]string{
		"mac":        mac.String(),
		"mac:hexhyp": strings.ReplaceAll(mac.String(), ":", "-"),
		"net0/mac":   mac.String(),
		"buildarch":  "x86_64",
		"platform":   "efi",
	}
}

// expand replaces ${name} with vars[name]; an unknown name is an error,
// as the script would not do what the server meant.
func expand(s string, vars map[string]string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s)
		}
		name := s[i+2 : i+j]
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("setting ${%s} not simulated", name)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+1:]
	}
}

// bootTarget is what a script boots: a chain to another script, or a
// kernel with its initrds.
type bootTarget struct {
	chain   string
	kernel  string
	initrds []string
}

// parseScript reads an iPXE script the way iPXE would run it for a
// machine that lets the menu time out: from the label that `choose
// --default NAME` names (or from the top when there is no menu) to the
// first `chain` or `boot`. It knows the commands bootwright's templates
// and a static copy of them use, not the whole language.
func parseScript(script []byte, vars map[string]string) (bootTarget, error) {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(script))
	for sc.Scan() {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "#!ipxe") {
		return bootTarget{}, errors.New("not an iPXE script (no #!ipxe line)")
	}
	start := 1
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != "choose" {
			continue
		}
		def := ""
		for i, a := range f {
			if a == "--default" && i+1 < len(f) {
				def = f[i+1]
			} else if v, ok := strings.CutPrefix(a, "--default="); ok {
				def = v
			}
		}
		if def == "" {
			return bootTarget{}, errors.New("menu has no --default entry")
		}
		start = -1
		for i, l2 := range lines {
			if l2 == ":"+def {
				start = i + 1
			}
		}
		if start < 0 {
			return bootTarget{}, fmt.Errorf("menu's default %q has no label", def)
		}
		break
	}
	var t bootTarget
	for _, l := range lines[start:] {
		l, _, _ = strings.Cut(l, "||")
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "chain", "kernel", "initrd", "imgfetch", "module":
			u := uriArg(f[1:])
			if u == "" {
				return bootTarget{}, fmt.Errorf("%q: no URI", l)
			}
			u, err := expand(u, vars)
			if err != nil {
				return bootTarget{}, err
			}
			switch f[0] {
			case "chain":
				t.chain = u
				return t, nil
			case "kernel":
				t.kernel = u
			default:
				t.initrds = append(t.initrds, u)
			}
		case "boot":
			if t.kernel == "" {
				return bootTarget{}, errors.New("boot without a kernel")
			}
			return t, nil
		case "exit", "shell", "goto", "sanboot":
			return bootTarget{}, fmt.Errorf("script reaches %q before booting anything", l)
		}
	}
	if t.kernel != "" {
		return t, nil // iPXE boots the last kernel at the end of a script
	}
	return bootTarget{}, errors.New("script boots nothing")
}

// uriArg is the first argument that is not an option (image commands
// take --name, --timeout and flags such as --autofree).
func uriArg(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--name" || a == "-n" || a == "--timeout" || a == "-t":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return ""
}

// httpMachine fetches what iPXE fetches, from one source address, over
// one keep-alive connection as iPXE's connection pool would.
type httpMachine struct {
	c      *http.Client
	expect func(path string) []byte // a file's expected bytes, or nil

	// Set from the transport's dialing goroutine.
	connects    atomic.Int64 // TCP connections opened
	slowConnect atomic.Int64 // the longest connect(2), in ns
}

// newHTTPMachine's connections come from local. rcvbuf > 0 fixes their
// receive buffer (SO_RCVBUF, before connect) instead of letting the
// kernel grow it to tcp_rmem's maximum.
func newHTTPMachine(local net.IP, expect func(string) []byte, rcvbuf int) *httpMachine {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: local}, Timeout: 30 * time.Second}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	tr := &http.Transport{
		DialContext:         d.DialContext,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     30 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return &httpMachine{c: &http.Client{Transport: tr}, expect: expect}
}

func (h *httpMachine) close() { h.c.CloseIdleConnections() }

// small fetches a script (at most 1 MiB).
func (h *httpMachine) small(ctx context.Context, u string) ([]byte, error) {
	resp, err := h.get(ctx, u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return b, nil
}

// large fetches a kernel or initrd, compares it with the expected file
// as it arrives, and returns its size.
func (h *httpMachine) large(ctx context.Context, u string, buf []byte) (int64, error) {
	resp, err := h.get(ctx, u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	pu, _ := url.Parse(u)
	want := h.expect(pu.Path)
	if want != nil && resp.ContentLength != int64(len(want)) {
		return 0, fmt.Errorf("GET %s: Content-Length %d, file has %d", u, resp.ContentLength, len(want))
	}
	var got int64
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if want != nil && (got+int64(n) > int64(len(want)) || !bytes.Equal(buf[:n], want[got:got+int64(n)])) {
				return got, fmt.Errorf("GET %s: bytes from %d differ from the file", u, got)
			}
			got += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return got, fmt.Errorf("GET %s: after %d bytes: %w", u, got, err)
		}
	}
	if want != nil && got != int64(len(want)) {
		return got, fmt.Errorf("GET %s: %d bytes of %d", u, got, len(want))
	}
	return got, nil
}

func (h *httpMachine) get(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	var t0 atomic.Int64
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		ConnectStart: func(string, string) { t0.Store(time.Now().UnixNano()) },
		ConnectDone: func(string, string, error) {
			h.connects.Add(1)
			d := time.Now().UnixNano() - t0.Load()
			for {
				old := h.slowConnect.Load()
				if d <= old || h.slowConnect.CompareAndSwap(old, d) {
					break
				}
			}
		},
	}))
	req.Header.Set("User-Agent", "iPXE/1.21.1 (bench-storm)")
	resp, err := h.c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return resp, nil
}
