package doctor

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pin/tftp/v3"
)

// tftpServer serves files from the map on loopback; a missing name is
// a TFTP ERROR (code 1, as pin/tftp sends for any handler error).
func tftpServer(t *testing.T, files map[string][]byte) string {
	t.Helper()
	s := tftp.NewServer(func(name string, rf io.ReaderFrom) error {
		b, ok := files[name]
		if !ok {
			return errors.New("file not found")
		}
		rf.(tftp.OutgoingTransfer).SetSize(int64(len(b)))
		_, err := rf.ReadFrom(bytes.NewReader(b))
		return err
	}, nil)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(conn)
	t.Cleanup(s.Shutdown)
	return conn.LocalAddr().String()
}

// refusingTFTP answers every read request with TFTP ERROR code 2.
func refusingTFTP(t *testing.T) string {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			conn.WriteTo(append([]byte{0, 5, 0, 2}, "Access violation\x00"...), from)
		}
	}()
	return conn.LocalAddr().String()
}

// silentUDP is a port where nothing ever answers.
func silentUDP(t *testing.T) string {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn.LocalAddr().String()
}

func TestFetchTFTP(t *testing.T) {
	nbp := bytes.Repeat([]byte("x"), 100_000)
	served := tftpServer(t, map[string][]byte{"undionly.kpxe": nbp})
	tests := map[string]struct {
		server, file string
		check        func(*Fetch) bool
	}{
		"served":           {served, "undionly.kpxe", func(f *Fetch) bool { return f.OK() && f.Size == 100_000 && f.TSize == 100_000 }},
		"leading slash":    {served, "/undionly.kpxe", func(f *Fetch) bool { return f.TFTPCode == 1 && strings.HasSuffix(f.URL, "/undionly.kpxe") }},
		"not found":        {served, "nope.efi", func(f *Fetch) bool { return f.TFTPCode == 1 && f.TFTPMsg == "file not found" && !f.Timeout }},
		"access violation": {refusingTFTP(t), "x", func(f *Fetch) bool { return f.TFTPCode == 2 && f.TFTPMsg == "Access violation" }},
		"silent":           {silentUDP(t), "x", func(f *Fetch) bool { return f.Timeout && f.TFTPCode == 0 && !f.OK() }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := fetchTFTP(tc.server, tc.file, 100*time.Millisecond, 2)
			if !tc.check(f) {
				t.Errorf("fetchTFTP(%s, %s) = %+v", tc.server, tc.file, *f)
			}
		})
	}
}

func TestFetchHTTP(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/boot.ipxe":
			io.WriteString(w, "#!ipxe\nchain --autofree http://10.0.0.1:8080/ipxe/${mac:hexhyp}\n")
		case "/big":
			w.Write(bytes.Repeat([]byte("y"), 3*scriptLimit))
		default:
			http.Error(w, "no such machine", http.StatusNotFound)
		}
	}))
	defer ts.Close()
	// URLs name 10.0.0.1:8080, as a DHCP reply would; the dialer goes to ts.
	real := netip.MustParseAddrPort(ts.Listener.Addr().String())
	hc := httpClient(2*time.Second, func(netip.AddrPort) netip.AddrPort { return real })
	tests := map[string]struct {
		url   string
		check func(*Fetch) bool
	}{
		"script":  {"http://10.0.0.1:8080/boot.ipxe", func(f *Fetch) bool { return f.OK() && f.IPXE && f.Chain == "http://10.0.0.1:8080/ipxe/${mac:hexhyp}" }},
		"large":   {"http://10.0.0.1:8080/big", func(f *Fetch) bool { return f.OK() && !f.IPXE && f.Size == 3*scriptLimit }},
		"404":     {"http://10.0.0.1:8080/ipxe/x", func(f *Fetch) bool { return f.Status == 404 && strings.Contains(f.Err, "no such machine") }},
		"bad url": {"http://[::1", func(f *Fetch) bool { return !f.OK() && f.Status == 0 }},
		"refused": {"http://127.0.0.1:1/x", func(f *Fetch) bool { return !f.OK() && f.Status == 0 }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client := hc
			if name == "refused" {
				client = httpClient(time.Second, nil)
			}
			f := fetchHTTP(context.Background(), client, tc.url)
			if !tc.check(f) {
				t.Errorf("fetchHTTP(%s) = %+v", tc.url, *f)
			}
		})
	}
}
