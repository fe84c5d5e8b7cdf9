package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/bootwright/bootwright/httpboot"
	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/cache"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/netutil"
	"github.com/bootwright/bootwright/internal/route"
	"github.com/bootwright/bootwright/internal/state"
)

// runRender implements `bootwright render --mac MAC [--arch A] PATH`: it
// sends PATH through the server's own HTTP handler, in process, and prints
// the body, so the bytes are exactly what the server would serve. With
// --state-dir it reads the server's state (install states, bindings, the
// token secret), so the output carries the tokens and callback the server
// would give a request from --client-ip; it records nothing there.
func runRender(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	macFlag := fs.String("mac", "", "the machine's MAC address")
	arch := fs.String("arch", hw.ArchEFIx64.String(), "client arch: "+hw.FamilyNames())
	clientIP := fs.String("client-ip", "", "address the request comes from (default: the machine's reserved ip, else 192.0.2.1)")
	configDir := fs.String("config-dir", "", "config directory (as for serve)")
	assetsDir := fs.String("assets-dir", "", "assets directory (as for serve)")
	publicURL := fs.String("public-url", "", "base URL (as for serve; default http://<default interface address>:8080)")
	httpAddr := fs.String("http-addr", ":8080", "as for serve: with an https:// --public-url, boot loaders get http:// on its port")
	httpsAddr := fs.String("https-addr", "", "as for serve: with --https-ipxe-trusted and an http:// --public-url, iPXE gets https:// on its port")
	var trust httpsFlags
	trust.registerTrust(fs)
	secretsDir := fs.String("secrets-dir", "", "secrets directory (as for serve)")
	stateDir := fs.String("state-dir", "", "the server's state directory, read for install states, bindings and tokens (the server must be stopped, or give a copy)")
	tokenTTL := fs.Duration("file-token-ttl", boot.DefaultTokenTTL, "as for serve")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bootwright render [flags] PATH\n\nPATH is what a client asks for: /boot.ipxe, /ipxe, /ipxe/MAC, /files/NAME or /files/MAC/NAME.")
		fs.PrintDefaults()
	}
	if err := parseWithEnvAllowArgs(fs, args, getenv); err != nil {
		return usageError(stderr, "render", err)
	}
	if fs.NArg() != 1 {
		return usageError(stderr, "render", errors.New("want exactly one PATH"))
	}
	a, err := hw.ParseFamily(*arch)
	if err != nil {
		return usageError(stderr, "render", fmt.Errorf("--arch: %w", err))
	}
	buildarch, platform := a.IPXE()
	q := url.Values{"arch": {buildarch}, "platform": {platform}}.Encode()
	target, err := renderTarget(fs.Arg(0), *macFlag)
	if err != nil {
		return usageError(stderr, "render", err)
	}
	b, err := bootconfig.Load(*configDir)
	if err != nil {
		fmt.Fprintln(stderr, "bootwright render:", err)
		return 1
	}
	public, err := parsePublicURL(cmp.Or(*publicURL, defaultPublicURL()))
	if err != nil {
		return usageError(stderr, "render", err)
	}
	if *httpsAddr == "off" {
		*httpsAddr = ""
	}
	bases, err := deriveBases(public, *httpAddr, *httpsAddr, httpsConfig{ipxeTrusted: trust.ipxeTrusted})
	if err != nil {
		return usageError(stderr, "render", err)
	}
	p := &boot.Policy{Config: bootconfig.NewLive(b), PublicURL: bases.files, IPXEURL: bases.ipxe, LoaderURL: bases.plain,
		Secrets: secretsFunc(*secretsDir), Version: versionString()}
	if *assetsDir != "" {
		root, err := os.OpenRoot(*assetsDir)
		if err != nil {
			return usageError(stderr, "render", fmt.Errorf("--assets-dir: %w", err))
		}
		defer root.Close()
		p.Assets = root.FS()
	}
	p.TokenTTL = *tokenTTL
	if *stateDir != "" {
		st, err := openRenderState(*stateDir)
		if err != nil {
			fmt.Fprintln(stderr, "bootwright render:", err)
			return 1
		}
		defer st.Close()
		p.State = st
	}
	// Cached entries point at /cache/KEY/NAME, a path that depends only on
	// the upstream URL: a throwaway cache gives the server's paths without
	// touching its state directory or fetching anything.
	tmp, err := os.MkdirTemp("", "bootwright-render-cache-")
	if err != nil {
		fmt.Fprintln(stderr, "bootwright render:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	p.Cache = &cache.Cache{Dir: tmp}
	defer p.Cache.Close()
	hs := &httpboot.Server{Boot: p, DryRun: true}
	req := httptest.NewRequest(http.MethodGet, target+"?"+q, nil)
	req.RemoteAddr = netip.AddrPortFrom(renderClientIP(b, *clientIP, target), 40000).String()
	rec := httptest.NewRecorder()
	hs.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		fmt.Fprintf(stderr, "bootwright render: GET %s: %d %s\n", target, rec.Code, strings.TrimSpace(rec.Body.String()))
		return 1
	}
	stdout.Write(rec.Body.Bytes())
	return 0
}

// renderTarget turns the PATH argument and --mac into a server path.
func renderTarget(p, macFlag string) (string, error) {
	p = "/" + strings.TrimPrefix(p, "/")
	mac := func() (hw.MAC, error) {
		m, err := hw.ParseMAC(macFlag)
		if err != nil {
			return m, fmt.Errorf("--mac: %w", err)
		}
		return m, nil
	}
	switch {
	case p == route.BootScript:
		return p, nil
	case p == "/ipxe":
		m, err := mac()
		return route.MenuPath(m), err
	case strings.HasPrefix(p, "/ipxe/"):
		return p, nil
	case strings.HasPrefix(p, "/files/"):
		rest := strings.TrimPrefix(p, "/files/")
		if first, _, ok := strings.Cut(rest, "/"); ok {
			if _, err := hw.ParseMAC(first); err == nil {
				return p, nil
			}
		}
		m, err := mac()
		return route.FilePath("", m, rest), err
	}
	return "", fmt.Errorf("unknown path %q (want /boot.ipxe, /ipxe, /ipxe/MAC, /files/NAME or /files/MAC/NAME)", p)
}

// renderClientIP picks the request's source address: --client-ip, else
// the machine's reserved address, else a documentation address.
func renderClientIP(b *bootconfig.Bundle, flagIP, target string) netip.Addr {
	if a, err := netip.ParseAddr(flagIP); err == nil {
		return a
	}
	parts := strings.Split(target, "/")
	if len(parts) > 2 {
		if mac, err := hw.ParseMAC(parts[2]); err == nil {
			if m := b.Menus.Machines[mac]; m != nil && m.IP.IsValid() {
				return m.IP.Addr
			}
		}
	}
	return netip.MustParseAddr("192.0.2.1")
}

// defaultPublicURL is what serve derives with no flags: the default
// interface's address on port 8080.
func defaultPublicURL() string {
	if name, err := netutil.DefaultInterface(); err == nil {
		if p, err := netutil.InterfaceIPv4(name); err == nil {
			return "http://" + p.Addr().String() + ":8080"
		}
	}
	return "http://127.0.0.1:8080"
}

// openRenderState opens the state store in dir, which must hold one: a
// new store would have a new secret, and no token would match.
func openRenderState(dir string) (*state.Store, error) {
	path := filepath.Join(dir, state.FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("--state-dir: %w", err)
	}
	st, err := state.Open(path)
	if errors.Is(err, state.ErrInUse) {
		return nil, fmt.Errorf("--state-dir: %w (stop the server, or render from a copy of %s)", err, path)
	}
	return st, err
}
