package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/testca"
)

// testPair writes a pair from ca into a new directory and returns
// --tls-cert and --tls-key flags for it.
func testPair(t *testing.T, i testca.Issued) []string {
	t.Helper()
	cert, key := i.Write(t, t.TempDir())
	return []string{"--tls-cert=" + cert, "--tls-key=" + key}
}

func TestHTTPSConfigErrors(t *testing.T) {
	ca := testca.New(t)
	good := testPair(t, ca.Issue(t, testca.Leaf{}))
	a, b := ca.Issue(t, testca.Leaf{}), ca.Issue(t, testca.Leaf{})
	mismatched := testPair(t, testca.Issued{CertPEM: a.CertPEM, KeyPEM: b.KeyPEM})
	expired := testPair(t, ca.Issue(t, testca.Leaf{NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}))
	missing := []string{"--tls-cert=" + filepath.Join(t.TempDir(), "none.pem"), good[1]}
	https := []string{"--https-addr=:8443"}
	tests := map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"no pair":              {args: https, want: "--https-addr needs --tls-cert and --tls-key"},
		"cert only":            {args: append(https, good[0]), want: "--https-addr needs --tls-cert and --tls-key"},
		"pair without https":   {args: good, want: "--tls-cert and --tls-key need --https-addr"},
		"bad https address":    {args: append([]string{"--https-addr=8443"}, good...), want: `--https-addr "8443"`},
		"mismatched pair":      {args: append(https, mismatched...), want: "--tls-cert/--tls-key: " + mismatched[0][len("--tls-cert="):] + " and "},
		"mismatched from env":  {env: map[string]string{"BOOTWRIGHT_HTTPS_ADDR": ":8443", "BOOTWRIGHT_TLS_CERT": mismatched[0][len("--tls-cert="):], "BOOTWRIGHT_TLS_KEY": mismatched[1][len("--tls-key="):]}, want: "private key does not match public key"},
		"expired":              {args: append(https, expired...), want: "certificate expired at"},
		"unreadable cert":      {args: append(https, missing...), want: "none.pem: no such file or directory"},
		"iPXE trust, no https": {args: []string{"--https-ipxe-trusted"}, want: "--https-ipxe-trusted: no https:// URL to hand out"},
		"UEFI trust, no https": {args: []string{"--https-uefi-trusted"}, want: "--https-uefi-trusted: no https:// URL to hand out"},
		"UEFI trust, ECDSA":    {args: append(append(https, good...), "--https-uefi-trusted"), want: "--https-uefi-trusted needs an RSA certificate"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parseServe(t, tc.args, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// TestHTTPSBases: who is handed which base URL, and what DHCP hands
// iPXE and UEFI HTTP Boot clients, for each combination of flags.
func TestHTTPSBases(t *testing.T) {
	ca := testca.New(t)
	ecdsa := testPair(t, ca.Issue(t, testca.Leaf{}))
	rsa := testPair(t, ca.Issue(t, testca.Leaf{RSA: true}))
	type got struct{ Files, IPXE, Loader, Script, HTTPBoot string }
	tests := map[string]struct {
		args []string
		want got
	}{
		"no https": {nil, got{"http://10.231.0.1:8080", "http://10.231.0.1:8080", "http://10.231.0.1:8080",
			"http://10.231.0.1:8080/boot.ipxe", "http://10.231.0.1:8080/tftp/"}},
		"listener only": {append([]string{"--https-addr=:8443"}, ecdsa...), got{"http://10.231.0.1:8080", "http://10.231.0.1:8080",
			"http://10.231.0.1:8080", "http://10.231.0.1:8080/boot.ipxe", "http://10.231.0.1:8080/tftp/"}},
		"https public url": {append([]string{"--https-addr=:8443", "--public-url=https://boot.example:8443/pxe/"}, ecdsa...),
			got{"https://boot.example:8443/pxe", "http://boot.example:8080", "http://boot.example:8080",
				"http://boot.example:8080/boot.ipxe", "http://boot.example:8080/tftp/"}},
		"proxy in front": {[]string{"--public-url=https://boot.example", "--http-addr=:80"},
			got{"https://boot.example", "http://boot.example:80", "http://boot.example:80", "http://boot.example:80/boot.ipxe", "http://boot.example:80/tftp/"}},
		"iPXE trusted": {append([]string{"--https-addr=:8443", "--public-url=https://boot.example:8443", "--https-ipxe-trusted"}, ecdsa...),
			got{"https://boot.example:8443", "https://boot.example:8443", "http://boot.example:8080",
				"https://boot.example:8443/boot.ipxe", "http://boot.example:8080/tftp/"}},
		"iPXE trusted, installers not": {append([]string{"--https-addr=:8443", "--https-ipxe-trusted"}, ecdsa...),
			got{"http://10.231.0.1:8080", "https://10.231.0.1:8443", "http://10.231.0.1:8080",
				"https://10.231.0.1:8443/boot.ipxe", "http://10.231.0.1:8080/tftp/"}},
		"UEFI trusted": {append([]string{"--https-addr=:8443", "--https-uefi-trusted"}, rsa...),
			got{"http://10.231.0.1:8080", "http://10.231.0.1:8080", "http://10.231.0.1:8080",
				"http://10.231.0.1:8080/boot.ipxe", "https://10.231.0.1:8443/tftp/"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := parseServe(t, append(tc.args, "--dhcp-mode=proxy", "--state-dir="+t.TempDir()), nil)
			if err != nil {
				t.Fatal(err)
			}
			p := &boot.Policy{PublicURL: c.bases.files, IPXEURL: c.bases.ipxe, LoaderURL: c.bases.plain}
			ds, _, err := buildDHCP(c, p.IPXEScriptURL(), nil, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			g := got{c.bases.files, c.bases.ipxe, c.bases.plain, ds.Policy.IPXEScript, ds.Policy.HTTPBase}
			if d := cmp.Diff(tc.want, g); d != "" {
				t.Errorf("bases (-want +got):\n%s", d)
			}
		})
	}
}

// TestServeHTTPSMismatchExitsTwo: a pair that does not match stops
// start-up with exit code 2 and one line naming the files.
func TestServeHTTPSMismatchExitsTwo(t *testing.T) {
	ca := testca.New(t)
	a, b := ca.Issue(t, testca.Leaf{}), ca.Issue(t, testca.Leaf{})
	args := append([]string{"serve", "--dhcp-mode=off", "--tftp-addr=off", "--address=127.0.0.1", "--http-addr=127.0.0.1:0",
		"--state-dir=" + t.TempDir(), "--https-addr=127.0.0.1:0"}, testPair(t, testca.Issued{CertPEM: a.CertPEM, KeyPEM: b.KeyPEM})...)
	var out bytes.Buffer
	code := run(context.Background(), args, func(string) string { return "" }, &out, &out)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "bootwright serve: --tls-cert/--tls-key: ") ||
		!strings.HasSuffix(lines[0], "private key does not match public key") {
		t.Errorf("exit %d, output %q; want 2 and one line about the pair", code, out.String())
	}
}

// safeBuffer is a bytes.Buffer a logger may write while a test reads.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort returns a loopback TCP port nothing listens on just now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestServeHTTPSEndToEnd runs serve with HTTP and HTTPS on loopback: the
// HTTPS port serves the boot script and a menu, whose boot loader URLs
// are http:// (iPXE cannot verify a lab CA) and whose answer-file URL is
// https://; a new pair is served without a restart; the context's end
// stops both listeners.
func TestServeHTTPSEndToEnd(t *testing.T) {
	ca := testca.New(t)
	dir := t.TempDir()
	cert, key := ca.Issue(t, testca.Leaf{Serial: 7001}).Write(t, dir)
	hp, sp := freePort(t), freePort(t)
	c, err := parseServe(t, []string{"--dhcp-mode=off", "--tftp-addr=off", "--address=127.0.0.1", "--http-addr=127.0.0.1:" + hp,
		"--https-addr=127.0.0.1:" + sp, "--tls-cert=" + cert, "--tls-key=" + key, "--public-url=https://127.0.0.1:" + sp,
		"--state-dir=" + t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs safeBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, c, slog.New(slog.NewTextHandler(&logs, nil))) }()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	get := func(url string) (string, string) {
		t.Helper()
		var resp *http.Response
		for range 100 { // until the listeners are up
			if resp, err = client.Get(url); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", url, resp.Status)
		}
		return string(b), resp.TLS.PeerCertificates[0].SerialNumber.String()
	}
	secure := "https://127.0.0.1:" + sp
	script, serial := get(secure + "/boot.ipxe")
	if !strings.Contains(script, "chain --autofree http://127.0.0.1:"+hp+"/ipxe/") || serial != "7001" {
		t.Errorf("boot.ipxe over HTTPS, certificate %s:\n%s", serial, script)
	}
	menu, _ := get(secure + "/ipxe/52-54-00-12-34-56?arch=x86_64&platform=efi")
	if !strings.Contains(menu, "bootwright menu for") {
		t.Errorf("menu over HTTPS:\n%s", menu)
	}
	ca.Issue(t, testca.Leaf{Serial: 7002}).Write(t, dir)
	if _, serial := get(secure + "/healthz"); serial != "7002" {
		t.Errorf("after rotation the certificate is %s, want 7002", serial)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := net.Dial("tcp", "127.0.0.1:"+sp); err == nil {
		t.Error("HTTPS port still open after serve returned")
	}
	for _, want := range []string{"https=127.0.0.1:" + sp, "tls: certificate reloaded", "iPXE gets http:// menus"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

// TestHTTPSRenderFlags: render, given serve's flags, hands out the same
// bases as serve.
func TestHTTPSRenderFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	env := map[string]string{"BOOTWRIGHT_PUBLIC_URL": "https://boot.example:8443", "BOOTWRIGHT_HTTP_ADDR": ":8081"}
	code := runRender([]string{"/boot.ipxe"}, func(k string) string { return env[k] }, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "chain --autofree http://boot.example:8081/ipxe/") {
		t.Errorf("render /boot.ipxe: %d %s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	code = runRender([]string{"--https-ipxe-trusted", "/boot.ipxe"}, func(k string) string { return env[k] }, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "chain --autofree https://boot.example:8443/ipxe/") {
		t.Errorf("render --https-ipxe-trusted /boot.ipxe: %d %s%s", code, out.String(), errOut.String())
	}
}

// TestHTTPSBasesIPv6: clients over IPv6 get the same kinds of base URL
// as over IPv4, with the IPv6 literal, and DHCPv6 hands iPXE and UEFI
// HTTP Boot clients their IPv6 URLs.
func TestHTTPSBasesIPv6(t *testing.T) {
	ca := testca.New(t)
	pair := testPair(t, ca.Issue(t, testca.Leaf{RSA: true}))
	args := append([]string{"--https-addr=:8443", "--https-ipxe-trusted", "--https-uefi-trusted",
		"--dhcp-mode=proxy", "--dhcp6-mode=proxy", "--state-dir=" + t.TempDir()}, pair...)
	c, err := parseServe(t, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := urlBases{files: "http://[fd42:231::1]:8080", plain: "http://[fd42:231::1]:8080", secure: "https://[fd42:231::1]:8443",
		ipxe: "https://[fd42:231::1]:8443", httpBoot: "https://[fd42:231::1]:8443"}
	if d := cmp.Diff(want, c.bases6, cmp.AllowUnexported(urlBases{})); d != "" {
		t.Errorf("IPv6 bases (-want +got):\n%s", d)
	}
	p := &boot.Policy{PublicURL: c.bases.files, IPXEURL: c.bases.ipxe, LoaderURL: c.bases.plain,
		PublicURL6: c.publicURL6, IPXEURL6: c.bases6.ipxe, LoaderURL6: c.bases6.plain}
	if got := p.IPXEScriptURLFor(netip.IPv6Unspecified()); got != "https://[fd42:231::1]:8443/boot.ipxe" {
		t.Errorf("iPXE script URL over IPv6: %q", got)
	}
	if got := p.IPXEScriptURL(); got != "https://10.231.0.1:8443/boot.ipxe" {
		t.Errorf("iPXE script URL over IPv4: %q", got)
	}
	d6, _ := buildDHCP6(c, p.IPXEScriptURLFor(netip.IPv6Unspecified()), nil, slog.New(slog.DiscardHandler))
	if d6 == nil || d6.Policy.HTTPBase != "https://[fd42:231::1]:8443/tftp/" || d6.Policy.IPXEScript != "https://[fd42:231::1]:8443/boot.ipxe" {
		t.Errorf("DHCPv6 policy: %+v", d6)
	}
}
