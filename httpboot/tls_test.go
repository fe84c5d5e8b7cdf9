package httpboot

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/testca"
	"github.com/bootwright/bootwright/internal/tlscert"
)

// serveBoth runs s over HTTP and HTTPS on 127.0.0.1:0 with a certificate
// from ca in dir, and returns both base URLs; the servers stop at cleanup.
func serveBoth(t *testing.T, s *Server, ca *testca.CA, dir string) (plain, secure string) {
	t.Helper()
	certFile, keyFile := ca.Issue(t, testca.Leaf{Serial: 501}).Write(t, dir)
	pair := &tlscert.Pair{CertFile: certFile, KeyFile: keyFile}
	must(t, pair.Load())
	s.TLSAddr, s.TLSConfig = "127.0.0.1:0", &tls.Config{GetCertificate: pair.GetCertificate}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	tl, err := s.ListenTLS()
	must(t, err)
	done := make(chan error, 2)
	go func() { done <- s.Serve(l) }()
	go func() { done <- s.ServeTLS(tl) }()
	t.Cleanup(func() {
		must(t, s.Shutdown(context.Background()))
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Serve or ServeTLS after Shutdown = %v, want nil", err)
			}
		}
	})
	return "http://" + l.Addr().String(), "https://" + tl.Addr().String()
}

// client trusts ca, opens a new connection (so a new handshake) per
// request, and speaks TLS from min to max.
func client(ca *testca.CA, min, max uint16) *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true, ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool, MinVersion: min, MaxVersion: max, NextProtos: []string{"h2", "http/1.1"}}}}
}

// named makes c check the server's certificate for name.
func named(c *http.Client, name string) *http.Client {
	c.Transport.(*http.Transport).TLSClientConfig.ServerName = name
	return c
}

type fetched struct {
	Status  int
	Body    string
	Proto   string
	Serial  string
	Version uint16
}

func fetch(t *testing.T, c *http.Client, url string) fetched {
	t.Helper()
	resp, err := c.Get(url)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	f := fetched{Status: resp.StatusCode, Body: string(b), Proto: resp.Proto}
	if resp.TLS != nil {
		f.Serial, f.Version = resp.TLS.PeerCertificates[0].SerialNumber.String(), resp.TLS.Version
	}
	return f
}

// TestTLSSameRoutes: every route answers alike over HTTP and HTTPS, over
// HTTP/1.1 and TLS 1.2 or 1.3, with the certificate a client verifies
// against the test CA.
func TestTLSSameRoutes(t *testing.T) {
	s, _ := newTestServer(t)
	ca := testca.New(t)
	plain, secure := serveBoth(t, s, ca, t.TempDir())
	paths := []string{"/boot.ipxe", "/ipxe/52-54-00-12-34-56?arch=x86_64&platform=efi", "/files/52:54:00:12:34:56/hello.txt",
		"/assets/testos/vmlinuz", "/tftp/undionly.kpxe", "/assets/testos/nope", "/ipxe/not-a-mac", "/healthz"}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c := client(ca, v, v)
		for _, p := range paths {
			want := fetch(t, http.DefaultClient, plain+p)
			want.Proto, want.Serial, want.Version = "HTTP/1.1", "501", v
			if d := cmp.Diff(want, fetch(t, c, secure+p)); d != "" {
				t.Errorf("TLS %x GET %s (-over HTTP +over HTTPS):\n%s", v, p, d)
			}
		}
	}
}

// TestTLSRefuses: no TLS 1.1 or 1.0, and no client that does not trust
// the certificate; plain HTTP on the HTTPS port gets no page.
func TestTLSRefuses(t *testing.T) {
	s, _ := newTestServer(t)
	ca := testca.New(t)
	_, secure := serveBoth(t, s, ca, t.TempDir())
	tests := map[string]struct {
		c    *http.Client
		url  string
		want string
	}{
		"TLS 1.1":      {c: client(ca, tls.VersionTLS10, tls.VersionTLS11), url: secure + "/boot.ipxe", want: "protocol version"},
		"another CA":   {c: client(testca.New(t), 0, 0), url: secure + "/boot.ipxe", want: "certificate signed by unknown authority"},
		"plain HTTP":   {c: http.DefaultClient, url: "http" + strings.TrimPrefix(secure, "https") + "/boot.ipxe", want: "400 Bad Request"},
		"another name": {c: named(client(ca, 0, 0), "boot.example"), url: secure + "/boot.ipxe", want: "not boot.example"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, err := tc.c.Get(tc.url)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = resp.Status
				resp.Body.Close()
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("GET %s: %s, want %q", tc.url, got, tc.want)
			}
		})
	}
}

// TestTLSRotation: a pair written over the files is served from the next
// handshake on, without a restart; a pair that does not match is not.
func TestTLSRotation(t *testing.T) {
	s, _ := newTestServer(t)
	ca := testca.New(t)
	dir := t.TempDir()
	_, secure := serveBoth(t, s, ca, dir)
	c := client(ca, 0, 0)
	var got []string
	serve := func() { got = append(got, fetch(t, c, secure+"/boot.ipxe").Serial) }
	serve()
	ca.Issue(t, testca.Leaf{Serial: 502}).Write(t, dir)
	serve()
	bad, other := ca.Issue(t, testca.Leaf{Serial: 503}), ca.Issue(t, testca.Leaf{Serial: 504})
	testca.Issued{CertPEM: bad.CertPEM, KeyPEM: other.KeyPEM}.Write(t, dir)
	serve()
	ca.Issue(t, testca.Leaf{Serial: 505, RSA: true}).Write(t, dir)
	serve()
	if d := cmp.Diff([]string{"501", "502", "502", "505"}, got); d != "" {
		t.Errorf("serials (-want +got):\n%s", d)
	}
}
