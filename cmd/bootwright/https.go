package main

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"

	"github.com/bootwright/bootwright/internal/tlscert"
)

// Who may be sent to https://: only a client that can verify the
// certificate, since one that cannot fails the boot (the embedded iPXE
// with a lab CA: "Permission denied (https://ipxe.org/0216eb3c)" on BIOS,
// 0216eb8f on UEFI; test/https/firmware.sh). So:
//
//   - installers get --public-url, whose scheme is the operator's word that
//     they verify it (a publicly trusted certificate, or the CA in the
//     installer image);
//   - iPXE gets https:// only with --https-ipxe-trusted: it trusts its own
//     root CA (and what ca.ipxe.org cross-signs), the CAs it was built
//     with (TRUST=) or, in its EFI builds, the firmware's TLS CA list; its
//     trust setting cannot be changed at run time;
//   - UEFI HTTP Boot firmware only with --https-uefi-trusted (the CA
//     enrolled, e.g. OVMF's fw_cfg etc/edk2/https/cacerts);
//   - GRUB and pxelinux never: neither has TLS.
//
// The http:// base they get instead when --public-url is https:// is this
// server's own HTTP listener at --public-url's host (http://HOST:PORT of
// --http-addr); the https:// base for the trusted when --public-url is
// http:// is its own HTTPS listener there (https://HOST:PORT of
// --https-addr). Both at the root: a path in --public-url belongs to a
// proxy in front, not to our listeners.

// httpsFlags are the raw HTTPS flags of `bootwright serve`.
type httpsFlags struct {
	addr, certFile, keyFile  string
	ipxeTrusted, uefiTrusted bool
}

func (h *httpsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.addr, "https-addr", "", "HTTPS listen address, e.g. :8443 (default off); needs --tls-cert and --tls-key")
	fs.StringVar(&h.certFile, "tls-cert", "", "PEM certificate (then its intermediates) for --https-addr; a new pair written over the files is served from the next connection on")
	fs.StringVar(&h.keyFile, "tls-key", "", "PEM private key of --tls-cert")
	h.registerTrust(fs)
	fs.BoolVar(&h.uefiTrusted, "https-uefi-trusted", false,
		"UEFI HTTP Boot firmware has the CA enrolled: hand it https:// URLs (also allows RSA key exchange, the only kind edk2 firmware offers; needs an RSA certificate)")
}

// registerTrust declares the flag render shares with serve.
func (h *httpsFlags) registerTrust(fs *flag.FlagSet) {
	fs.BoolVar(&h.ipxeTrusted, "https-ipxe-trusted", false,
		"every iPXE booting here verifies the HTTPS certificate (it chains to iPXE's root CA, iPXE was built with TRUST=, or UEFI firmware holds the CA): hand iPXE https:// URLs")
}

// httpsConfig is the validated HTTPS part of a serve configuration.
type httpsConfig struct {
	addr                     string        // empty: no HTTPS listener
	pair                     *tlscert.Pair // loaded; nil without addr
	ipxeTrusted, uefiTrusted bool
}

// build checks the flags and loads the certificate and key, so that a
// bad pair stops start-up before any socket opens.
func (h *httpsFlags) build() (httpsConfig, error) {
	c := httpsConfig{ipxeTrusted: h.ipxeTrusted, uefiTrusted: h.uefiTrusted}
	if h.addr == "" || h.addr == "off" {
		if h.certFile != "" || h.keyFile != "" {
			return c, errors.New("--tls-cert and --tls-key need --https-addr")
		}
		return c, nil
	}
	if _, _, err := net.SplitHostPort(h.addr); err != nil {
		return c, fmt.Errorf("--https-addr %q: %w", h.addr, err)
	}
	if h.certFile == "" || h.keyFile == "" {
		return c, errors.New("--https-addr needs --tls-cert and --tls-key")
	}
	c.addr = h.addr
	c.pair = &tlscert.Pair{CertFile: h.certFile, KeyFile: h.keyFile}
	if h.uefiTrusted {
		c.pair.Check = needRSA
	}
	if err := c.pair.Load(); err != nil {
		return c, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return c, nil
}

// needRSA refuses a certificate UEFI firmware cannot use: edk2 (Debian
// 12's OVMF 2022.11) offers only DHE-RSA and RSA key exchange.
func needRSA(c *x509.Certificate) error {
	if _, ok := c.PublicKey.(*rsa.PublicKey); !ok {
		return fmt.Errorf("--https-uefi-trusted needs an RSA certificate (edk2 firmware offers only RSA key exchange), not %s", c.PublicKeyAlgorithm)
	}
	return nil
}

// tlsConfig is the HTTPS listener's TLS configuration; nil without one.
func (c httpsConfig) tlsConfig() *tls.Config {
	if c.pair == nil {
		return nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.pair.GetCertificate}
	if c.uefiTrusted {
		// crypto/tls leaves RSA key exchange out of its defaults (no
		// forward secrecy); edk2 offers nothing else that Go speaks.
		// Clients that offer ECDHE still get it: the server prefers it.
		t.CipherSuites = []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
			tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
		}
	}
	return t
}

// urlBases are the base URLs each kind of client is handed, without a
// trailing slash.
type urlBases struct {
	files    string // installers: answer files and the install callback (--public-url)
	plain    string // http://: GRUB and pxelinux, and iPXE and HTTP Boot unless trusted
	secure   string // https://, "" when there is none
	ipxe     string // iPXE's scripts and menus
	httpBoot string // UEFI HTTP Boot firmware (the NBP under /tftp/)
}

// deriveBases works out who gets which base from --public-url, the
// listen addresses and the trust flags (see the top of this file). Its
// error names the flag at fault.
func deriveBases(public *url.URL, httpAddr, httpsAddr string, h httpsConfig) (urlBases, error) {
	b := urlBases{files: public.String()}
	own := func(scheme, flag, addr string) (string, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return "", fmt.Errorf("%s %q: %w", flag, addr, err)
		}
		return scheme + "://" + net.JoinHostPort(public.Hostname(), port), nil
	}
	var err error
	switch {
	case public.Scheme == "https":
		b.secure = b.files
		b.plain, err = own("http", "--http-addr", httpAddr)
	case httpsAddr != "":
		b.plain = b.files
		b.secure, err = own("https", "--https-addr", httpsAddr)
	default:
		b.plain = b.files
	}
	if err != nil {
		return b, err
	}
	b.ipxe, b.httpBoot = b.plain, b.plain
	for _, t := range []struct {
		on   bool
		flag string
		base *string
	}{{h.ipxeTrusted, "--https-ipxe-trusted", &b.ipxe}, {h.uefiTrusted, "--https-uefi-trusted", &b.httpBoot}} {
		if !t.on {
			continue
		}
		if b.secure == "" {
			return b, fmt.Errorf("%s: no https:// URL to hand out; set --https-addr or an https:// --public-url", t.flag)
		}
		*t.base = b.secure
	}
	return b, nil
}

// logHTTPS says at start-up who is sent where, and warns about a setup
// that sends no one to HTTPS or a certificate that does not name the
// host clients are sent to.
func logHTTPS(c *config, log *slog.Logger) {
	b := c.bases
	if b.secure == "" {
		return
	}
	log.Info("https", "listen", c.https.addr, "installers", b.files, "ipxe", b.ipxe, "grub_pxelinux", b.plain, "uefi_http_boot", b.httpBoot)
	if b.files != b.secure && b.ipxe != b.secure && b.httpBoot != b.secure {
		log.Warn("https: listening, but no client is handed an https:// URL; set --public-url https://..., --https-ipxe-trusted or --https-uefi-trusted")
	}
	if b.files == b.secure && b.ipxe != b.secure {
		log.Info("https: iPXE gets http:// menus (--https-ipxe-trusted if it verifies this certificate); the file tokens in those menus cross the wire in the clear")
	}
	if c.https.pair == nil {
		return // a proxy in front terminates TLS
	}
	u, err := url.Parse(b.secure)
	if leaf := c.https.pair.Leaf(); err == nil && leaf != nil {
		if err := leaf.VerifyHostname(u.Hostname()); err != nil {
			log.Warn("https: clients will refuse the certificate", "url", b.secure, "err", err)
		}
	}
}

// warnUnreadable warns when --user cannot read the certificate or key:
// the pair loaded at start-up keeps serving, but a new one will not load.
func (c httpsConfig) warnUnreadable(user string, log *slog.Logger) {
	if c.pair == nil {
		return
	}
	for _, f := range []string{c.pair.CertFile, c.pair.KeyFile} {
		if fh, err := os.Open(f); err != nil {
			log.Warn("https: --user cannot read a TLS file; a new certificate written there will not load", "user", user, "err", err)
		} else {
			fh.Close()
		}
	}
}
