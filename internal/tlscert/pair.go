package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"
)

// Pair is a certificate (with any intermediates after it) and its private
// key in two PEM files. Load it once, then hand GetCertificate to a
// tls.Config. CertFile and KeyFile are required; the rest have working
// zero values. Fields must not change once GetCertificate is in use.
type Pair struct {
	CertFile, KeyFile string
	// Check, when set, also refuses a certificate: Load fails with its
	// error, and a reload keeps the previous pair.
	Check  func(*x509.Certificate) error
	Logger *slog.Logger     // nil discards logs
	Now    func() time.Time // nil means time.Now

	mu      sync.Mutex
	cert    *tls.Certificate
	loaded  stamp  // the files as they were when cert was read
	failed  stamp  // the files as they were when a reload last failed
	failMsg string // that failure, logged once
	expired bool   // the certificate in service has expired, and that was logged
}

// Load reads and checks the pair. Its error names the file at fault: a
// file it cannot read, a certificate and key that do not match, or a
// certificate that has expired.
func (p *Pair) Load() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, err := statPair(p.CertFile, p.KeyFile)
	if err != nil {
		return err
	}
	c, err := p.read()
	if err != nil {
		return err
	}
	p.cert, p.loaded = c, st
	return nil
}

// Leaf returns the certificate in service, nil before Load.
func (p *Pair) Leaf() *x509.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cert == nil {
		return nil
	}
	return p.cert.Leaf
}

// GetCertificate returns the pair in service, first reloading it if
// either file changed since it was read. It is a tls.Config's
// GetCertificate.
func (p *Pair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cert == nil {
		return nil, errors.New("tlscert: no certificate loaded")
	}
	p.refresh()
	return p.cert, nil
}

// refresh reloads the pair if the files changed, logging the outcome
// once per change. It keeps the pair in service on any failure.
func (p *Pair) refresh() {
	st, err := statPair(p.CertFile, p.KeyFile)
	switch {
	case err != nil:
		p.fail(stamp{}, err)
	case st == p.loaded:
		p.failMsg = "" // back as they were: a new failure is news
		p.checkExpiry()
	case st == p.failed && p.failMsg != "":
		// Logged already; wait for the next change.
	default:
		c, err := p.read()
		if err != nil {
			p.fail(st, err)
			return
		}
		p.cert, p.loaded, p.failed, p.failMsg, p.expired = c, st, stamp{}, "", false
		p.log().Info("tls: certificate reloaded", certAttrs(c.Leaf)...)
	}
}

func (p *Pair) fail(st stamp, err error) {
	if st == p.failed && err.Error() == p.failMsg {
		return
	}
	p.failed, p.failMsg = st, err.Error()
	p.log().Warn("tls: new certificate not loaded; the previous one keeps serving", "err", err)
}

// checkExpiry logs once that the certificate in service has expired:
// clients will refuse it until a new pair is written.
func (p *Pair) checkExpiry() {
	if p.expired || !p.now().After(p.cert.Leaf.NotAfter) {
		return
	}
	p.expired = true
	p.log().Error("tls: the certificate in service has expired; write a new pair over the files",
		append(certAttrs(p.cert.Leaf), "cert", p.CertFile)...)
}

// read loads and checks the files as they are now.
func (p *Pair) read() (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(p.CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(p.KeyFile)
	if err != nil {
		return nil, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", p.CertFile, p.KeyFile, err)
	}
	if c.Leaf == nil { // GODEBUG=x509keypairleaf=0
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", p.CertFile, err)
		}
	}
	if now := p.now(); now.After(c.Leaf.NotAfter) {
		return nil, fmt.Errorf("%s: certificate expired at %s", p.CertFile, c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if p.Check != nil {
		if err := p.Check(c.Leaf); err != nil {
			return nil, fmt.Errorf("%s: %w", p.CertFile, err)
		}
	}
	return &c, nil
}

func (p *Pair) log() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

func (p *Pair) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// certAttrs are the log attributes that tell one certificate from another.
func certAttrs(c *x509.Certificate) []any {
	return []any{"subject", c.Subject.String(), "serial", c.SerialNumber.String(),
		"not_after", c.NotAfter.UTC().Format(time.RFC3339)}
}

// stamp is what stat(2) says about both files; any change to a file's
// content, or a new file in its place, changes it.
type stamp struct{ cert, key fileStamp }

type fileStamp struct {
	dev, ino     uint64
	size         int64
	mtime, ctime syscall.Timespec
}

func statPair(certFile, keyFile string) (stamp, error) {
	c, err := statFile(certFile)
	if err != nil {
		return stamp{}, err
	}
	k, err := statFile(keyFile)
	return stamp{c, k}, err
}

// statFile follows symbolic links: a link repointed at a new file is a
// change.
func statFile(name string) (fileStamp, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return fileStamp{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStamp{size: fi.Size(), mtime: syscall.NsecToTimespec(fi.ModTime().UnixNano())}, nil
	}
	return fileStamp{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim, ctime: st.Ctim}, nil
}
