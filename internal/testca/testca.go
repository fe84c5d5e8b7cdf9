// Package testca makes throwaway certificate authorities and server
// certificates for tests, written as PEM files into a test's temporary
// directory. Nothing it makes is ever committed: every key is generated
// when the test runs.
package testca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority for one test.
type CA struct {
	Cert *x509.Certificate
	Pool *x509.CertPool // holds Cert, for a client's RootCAs
	key  crypto.Signer
	next int64
}

// New returns a CA with an ECDSA P-256 key, valid from an hour ago for a day.
func New(t testing.TB) *CA {
	t.Helper()
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))(t)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "bootwright test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key))(t)
	cert := must(x509.ParseCertificate(der))(t)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, Pool: pool, key: key, next: 100}
}

// Leaf describes a server certificate to issue. The zero value is an
// ECDSA certificate for 127.0.0.1 and localhost, valid from an hour ago
// for a day, with the next serial number.
type Leaf struct {
	Serial    int64     // 0: the CA's next serial
	RSA       bool      // an RSA-2048 key instead of ECDSA P-256
	NotBefore time.Time // zero: an hour ago
	NotAfter  time.Time // zero: a day from now
	IPs       []net.IP  // nil: 127.0.0.1
	DNSNames  []string  // nil: localhost
}

// Issued is a server certificate and its key, as PEM.
type Issued struct {
	Serial  *big.Int
	CertPEM []byte
	KeyPEM  []byte
}

// Issue signs a server certificate as l describes.
func (ca *CA) Issue(t testing.TB, l Leaf) Issued {
	t.Helper()
	var key crypto.Signer
	if l.RSA {
		key = must(rsa.GenerateKey(rand.Reader, 2048))(t)
	} else {
		key = must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))(t)
	}
	if l.Serial == 0 {
		ca.next++
		l.Serial = ca.next
	}
	now := time.Now()
	if l.NotBefore.IsZero() {
		l.NotBefore = now.Add(-time.Hour)
	}
	if l.NotAfter.IsZero() {
		l.NotAfter = now.Add(24 * time.Hour)
	}
	if l.IPs == nil {
		l.IPs = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	if l.DNSNames == nil {
		l.DNSNames = []string{"localhost"}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(l.Serial),
		Subject:      pkix.Name{CommonName: "bootwright test server"},
		NotBefore:    l.NotBefore,
		NotAfter:     l.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  l.IPs,
		DNSNames:     l.DNSNames,
	}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key))(t)
	keyDER := must(x509.MarshalPKCS8PrivateKey(key))(t)
	return Issued{
		Serial:  tmpl.SerialNumber,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

// Write writes the pair into dir as cert.pem and key.pem (key mode 0600)
// and returns their paths. Each file is replaced by a rename, as a
// certificate manager would, so a reader never sees half a file.
func (i Issued) Write(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, keyFile, i.KeyPEM, 0o600)
	writeFile(t, certFile, i.CertPEM, 0o644)
	return certFile, keyFile
}

func writeFile(t testing.TB, name string, data []byte, mode os.FileMode) {
	t.Helper()
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// must returns a function that fails t on err and returns v otherwise.
func must[V any](v V, err error) func(testing.TB) V {
	return func(t testing.TB) V {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
