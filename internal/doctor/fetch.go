package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pin/tftp/v3"
)

// scriptLimit is how much of an iPXE script doctor keeps to read it; the
// rest is counted, not kept.
const scriptLimit = 64 << 10

// tftpError matches how pin/tftp reports a TFTP ERROR packet.
var tftpError = regexp.MustCompile(`^code: (\d+), message: (.*)$`)

// fetchTFTP downloads file from server (host:port) as a PXE ROM does:
// octet mode, blksize 1468, tsize asked for. Each packet waits timeout,
// and is sent retries+1 times before the transfer counts as timed out.
func fetchTFTP(server, file string, timeout time.Duration, retries int) *Fetch {
	f := &Fetch{URL: "tftp://" + server + "/" + strings.TrimPrefix(file, "/"), TSize: -1}
	c, err := tftp.NewClient(server)
	if err != nil {
		f.Err = err.Error()
		return f
	}
	c.SetTimeout(timeout)
	c.SetRetries(retries)
	c.SetBackoff(func(int) time.Duration { return 0 })
	c.SetBlockSize(1468)
	c.RequestTSize(true)
	start := time.Now()
	wt, err := c.Receive(file, "octet")
	if err == nil {
		if it, ok := wt.(tftp.IncomingTransfer); ok {
			if n, ok := it.Size(); ok {
				f.TSize = n
			}
		}
		f.Size, err = wt.WriteTo(io.Discard)
	}
	f.Elapsed = time.Since(start)
	if err != nil {
		f.Err = strings.TrimRight(err.Error(), "\x00 ")
		var ne net.Error
		if m := tftpError.FindStringSubmatch(err.Error()); m != nil {
			f.TFTPCode, _ = strconv.Atoi(m[1])
			f.TFTPMsg = strings.TrimRight(m[2], "\x00 ")
		} else if errors.As(err, &ne) && ne.Timeout() {
			f.Timeout = true
		}
	}
	return f
}

// fetchHTTP downloads url with client. It keeps the start of the body
// to tell an iPXE script and where it chains to.
func fetchHTTP(ctx context.Context, client *http.Client, url string) *Fetch {
	f := &Fetch{URL: url, TSize: -1}
	start := time.Now()
	defer func() { f.Elapsed = time.Since(start) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		f.Err = err.Error()
		return f
	}
	resp, err := client.Do(req)
	if err != nil {
		f.Err = err.Error()
		var ne net.Error
		f.Timeout = errors.As(err, &ne) && ne.Timeout()
		return f
	}
	defer resp.Body.Close()
	f.Status = resp.StatusCode
	f.TSize = resp.ContentLength
	head, err := io.ReadAll(io.LimitReader(resp.Body, scriptLimit))
	if err == nil {
		var rest int64
		rest, err = io.Copy(io.Discard, resp.Body)
		f.Size = int64(len(head)) + rest
	}
	if err != nil {
		f.Err = fmt.Errorf("reading the body: %w", err).Error()
		return f
	}
	if resp.StatusCode != http.StatusOK {
		f.Err = fmt.Sprintf("HTTP %s: %s", resp.Status, firstLine(head))
		return f
	}
	f.IPXE, f.Chain = parseScript(string(head))
	return f
}

// httpClient is an HTTP client whose connections go where redirect says.
func httpClient(timeout time.Duration, redirect func(netip.AddrPort) netip.AddrPort) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	tr := &http.Transport{
		Proxy: nil, // a PXE client talks to the boot server directly
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if ap, err := netip.ParseAddrPort(addr); err == nil && redirect != nil {
				addr = redirect(ap).String()
			}
			return d.DialContext(ctx, network, addr)
		},
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{Transport: tr, Timeout: 4 * timeout}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}
