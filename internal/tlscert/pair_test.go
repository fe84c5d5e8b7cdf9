package tlscert

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/testca"
)

func TestLoadRefuses(t *testing.T) {
	ca := testca.New(t)
	good := ca.Issue(t, testca.Leaf{})
	other := ca.Issue(t, testca.Leaf{})
	expired := ca.Issue(t, testca.Leaf{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	tests := map[string]struct {
		cert, key []byte // nil: the file is missing
		check     func(*x509.Certificate) error
		want      string // in the error; "" means Load succeeds
	}{
		"good pair":             {cert: good.CertPEM, key: good.KeyPEM},
		"key of another cert":   {cert: good.CertPEM, key: other.KeyPEM, want: "private key does not match public key"},
		"expired":               {cert: expired.CertPEM, key: expired.KeyPEM, want: "cert.pem: certificate expired at "},
		"no cert file":          {key: good.KeyPEM, want: "cert.pem: no such file or directory"},
		"no key file":           {cert: good.CertPEM, want: "key.pem: no such file or directory"},
		"cert is not PEM":       {cert: []byte("hello\n"), key: good.KeyPEM, want: "failed to find any PEM data in certificate input"},
		"key and cert swapped":  {cert: good.KeyPEM, key: good.CertPEM, want: "cert.pem and "},
		"refused by Check":      {cert: good.CertPEM, key: good.KeyPEM, check: func(*x509.Certificate) error { return errors.New("not RSA") }, want: "cert.pem: not RSA"},
		"accepted by Check too": {cert: good.CertPEM, key: good.KeyPEM, check: func(*x509.Certificate) error { return nil }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := &Pair{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"), Check: tc.check}
			if tc.cert != nil {
				os.WriteFile(p.CertFile, tc.cert, 0o644)
			}
			if tc.key != nil {
				os.WriteFile(p.KeyFile, tc.key, 0o600)
			}
			err := p.Load()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Load: %v, want an error with %q", err, tc.want)
			case tc.want != "" && strings.Contains(err.Error(), "\n"):
				t.Errorf("Load error spans lines: %q", err)
			}
		})
	}
}

func TestUnreadableKey(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	ca := testca.New(t)
	certFile, keyFile := ca.Issue(t, testca.Leaf{}).Write(t, t.TempDir())
	os.Chmod(keyFile, 0)
	err := (&Pair{CertFile: certFile, KeyFile: keyFile}).Load()
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("Load: %v, want permission denied", err)
	}
}

// serial returns the serial number of the certificate p serves now.
func serial(t *testing.T, p *Pair) string {
	t.Helper()
	c, err := p.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf.SerialNumber.String()
}

func TestReload(t *testing.T) {
	ca := testca.New(t)
	dir := t.TempDir()
	var logs bytes.Buffer
	first := ca.Issue(t, testca.Leaf{Serial: 1001})
	certFile, keyFile := first.Write(t, dir)
	p := &Pair{CertFile: certFile, KeyFile: keyFile, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := p.Load(); err != nil {
		t.Fatal(err)
	}
	var got []string
	step := func(write func()) {
		write()
		got = append(got, serial(t, p))
	}
	keep := func() {}
	second := ca.Issue(t, testca.Leaf{Serial: 1002})
	third := ca.Issue(t, testca.Leaf{Serial: 1003})
	expired := ca.Issue(t, testca.Leaf{Serial: 1004, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	step(keep)                                                    // 1001, unchanged
	step(func() { second.Write(t, dir) })                         // renamed over: 1002
	step(func() { os.WriteFile(certFile, third.CertPEM, 0o644) }) // cert first: mismatch, keeps 1002
	step(keep)                                                    // still mismatched: logged once
	step(func() { os.WriteFile(keyFile, third.KeyPEM, 0o600) })   // then the key: 1003
	step(func() { expired.Write(t, dir) })                        // expired: keeps 1003
	step(func() { os.Remove(keyFile) })                           // key gone: keeps 1003
	step(func() {
		os.Symlink(filepath.Join(dir, "k2.pem"), keyFile)
		os.WriteFile(filepath.Join(dir, "k2.pem"), expired.KeyPEM, 0o600)
	})
	step(func() { // a symbolic link repointed at a new pair, as certbot does
		os.WriteFile(filepath.Join(dir, "c3.pem"), first.CertPEM, 0o644)
		os.WriteFile(filepath.Join(dir, "k3.pem"), first.KeyPEM, 0o600)
		os.Remove(certFile)
		os.Symlink(filepath.Join(dir, "c3.pem"), certFile)
		os.Remove(keyFile)
		os.Symlink(filepath.Join(dir, "k3.pem"), keyFile)
	})
	want := []string{"1001", "1002", "1002", "1002", "1003", "1003", "1003", "1003", "1001"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("serials served (-want +got):\n%s", d)
	}
	l := logs.String()
	for msg, n := range map[string]int{
		"tls: certificate reloaded":                                  3,
		"private key does not match public key":                      1,
		"certificate expired at":                                     2, // the expired pair, then the key link to it
		"key.pem: no such file or directory":                         1,
		"new certificate not loaded; the previous one keeps serving": 4,
	} {
		if c := strings.Count(l, msg); c != n {
			t.Errorf("%q logged %d times, want %d; logs:\n%s", msg, c, n, l)
		}
	}
}

func TestExpiryInService(t *testing.T) {
	ca := testca.New(t)
	certFile, keyFile := ca.Issue(t, testca.Leaf{NotAfter: time.Now().Add(time.Hour)}).Write(t, t.TempDir())
	var logs bytes.Buffer
	now := time.Now()
	p := &Pair{CertFile: certFile, KeyFile: keyFile, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }}
	if err := p.Load(); err != nil {
		t.Fatal(err)
	}
	serial(t, p)
	now = now.Add(2 * time.Hour)
	serial(t, p)
	serial(t, p)
	if c := strings.Count(logs.String(), "certificate in service has expired"); c != 1 {
		t.Errorf("expiry logged %d times, want 1:\n%s", c, logs.String())
	}
}

func TestGetCertificateBeforeLoad(t *testing.T) {
	if _, err := (&Pair{}).GetCertificate(nil); err == nil {
		t.Error("GetCertificate before Load: no error")
	}
}
