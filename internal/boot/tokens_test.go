package boot

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/internal/token"
	"github.com/bootwright/bootwright/menus"
)

// tokenPolicy is a policy over testdata/loaders with a state store in
// which alpha (52:54:00:00:00:01) is bound to 10.231.0.101.
func tokenPolicy(t *testing.T) (*Policy, *state.Store) {
	t.Helper()
	st, err := state.Open(filepath.Join(t.TempDir(), state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := testPolicy(t, "10.231.0.1", false)
	p.State = st
	now := st.Now()
	st.Bind(alpha, state.Binding{Addr: alphaIP, Since: now, Until: now.Add(time.Hour), Source: state.BoundByLease})
	return p, st
}

var (
	alpha   = hw.MustParseMAC("52:54:00:00:00:01")
	beta    = hw.MustParseMAC("52:54:00:00:00:02")
	alphaIP = netip.MustParseAddr("10.231.0.101")
	betaIP  = netip.MustParseAddr("10.231.0.102")
)

func TestTokensOnlyForTheBoundAddress(t *testing.T) {
	p, _ := tokenPolicy(t)
	req := p.Request(Client{MAC: alpha, Addr: alphaIP})
	if req.FileToken == "" || !strings.Contains(req.Callback, "/installed?token=") || req.NoToken != "" {
		t.Fatalf("from the bound address: token %q, callback %q, no-token %q", req.FileToken, req.Callback, req.NoToken)
	}
	if ok, why := p.FileAllowed(menus.Request{MAC: alpha, ClientIP: betaIP}, req.FileToken); !ok {
		t.Errorf("alpha's token from another address (a new lease) refused: %s", why)
	}
	tok, _ := strings.CutPrefix(req.Callback[strings.Index(req.Callback, "?token="):], "?token=")
	if ok, why := p.CallbackAllowed(alpha, tok); !ok {
		t.Errorf("alpha's callback refused: %s", why)
	}
	// Beta asks for alpha's menu: it renders, without tokens, saying why.
	stolen := p.Request(Client{MAC: alpha, Addr: betaIP})
	if stolen.FileToken != "" || stolen.Callback != "" || !strings.Contains(stolen.NoToken, "bound 52:54:00:00:00:01 to 10.231.0.101") {
		t.Errorf("from beta: token %q, callback %q, no-token %q", stolen.FileToken, stolen.Callback, stolen.NoToken)
	}
	// A machine DHCP never bound gets none either.
	if r := p.Request(Client{MAC: beta, Addr: betaIP}); r.FileToken != "" || !strings.Contains(r.NoToken, "no address") {
		t.Errorf("unbound beta: %q %q", r.FileToken, r.NoToken)
	}
}

func TestFileAllowed(t *testing.T) {
	p, st := tokenPolicy(t)
	good := p.Request(Client{MAC: alpha, Addr: alphaIP}).FileToken
	signer := token.Signer{Key: st.Secret()}
	now := st.Now()
	mint := func(mac hw.MAC, issued time.Time) string {
		return signer.Mint(token.Files, token.Token{MAC: mac, Issued: issued, Addr: alphaIP})
	}
	swapped := []byte(good)
	swapped[len(swapped)/2] ^= 0x20
	tests := map[string]struct {
		tok  string
		from netip.Addr
		want string // "" means allowed; else part of the reason
	}{
		"bound address, no token":   {"", alphaIP, ""},
		"token from anywhere":       {good, betaIP, ""},
		"no token from elsewhere":   {"", betaIP, "is not 52:54:00:00:00:01's bound address 10.231.0.101"},
		"another machine's token":   {mint(beta, now), betaIP, "token of another machine (52:54:00:00:00:02)"},
		"expired":                   {mint(alpha, now.Add(-7*time.Hour)), betaIP, "token expired"},
		"another server's":          {token.Signer{Key: []byte("elsewhere")}.Mint(token.Files, token.Token{MAC: alpha, Issued: now}), betaIP, "not signed by this server"},
		"callback token for files":  {signer.Mint(token.Installed, token.Token{MAC: alpha, Issued: now}), betaIP, "not signed by this server"},
		"truncated":                 {good[:len(good)-3], betaIP, "malformed"},
		"extended":                  {good + "AAAA", betaIP, "malformed"},
		"case swapped":              {string(swapped), betaIP, "token"},
		"garbage":                   {"../../etc/passwd", betaIP, "malformed"},
		"empty after the /t/ slash": {"", betaIP, "no token"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ok, why := p.FileAllowed(menus.Request{MAC: alpha, ClientIP: tc.from}, tc.tok)
			if tc.want == "" && !ok || tc.want != "" && (ok || !strings.Contains(why, tc.want)) {
				t.Errorf("FileAllowed = %v, %q; want %q", ok, why, cmpWant(tc.want))
			}
		})
	}
	// The install callback revokes every token of the boot.
	if _, err := st.Installed(alpha, alphaIP, true); err != nil {
		t.Fatal(err)
	}
	if ok, why := p.FileAllowed(menus.Request{MAC: alpha, ClientIP: betaIP}, good); ok || !strings.Contains(why, "revoked") {
		t.Errorf("after the callback: %v %q, want revoked", ok, why)
	}
}

func cmpWant(s string) string {
	if s == "" {
		return "allowed"
	}
	return s
}

// TestTokenAnywhere: with file_access: token-anywhere a menu asked for
// from any address carries a token.
func TestTokenAnywhere(t *testing.T) {
	p, _ := tokenPolicy(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "menus", "machines.yaml"), "machines:\n  - {mac: \"52:54:00:00:00:02\", name: beta, file_access: token-anywhere}\n")
	cfg, err := bootconfig.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Config = bootconfig.NewLive(cfg)
	req := p.Request(Client{MAC: beta, Addr: netip.MustParseAddr("192.0.2.7")})
	if req.FileToken == "" || req.NoToken != "" {
		t.Fatalf("token-anywhere: token %q, no-token %q", req.FileToken, req.NoToken)
	}
	time.Sleep(2 * time.Millisecond)
	if again := p.Request(Client{MAC: beta, Addr: netip.MustParseAddr("192.0.2.7")}); again.FileToken != req.FileToken {
		t.Errorf("the same boot's menus carry different tokens: %q, %q", req.FileToken, again.FileToken)
	}
	if ok, why := p.FileAllowed(menus.Request{MAC: beta, ClientIP: netip.MustParseAddr("198.51.100.1")}, req.FileToken); !ok {
		t.Errorf("token-anywhere token refused: %s", why)
	}
}

// TestTokensOverIPv6: a request over IPv6 is held to what DHCPv6 bound,
// and gets its URLs with the IPv6 literal in brackets; DHCPv4's binding
// vouches for no IPv6 address, and the other way round.
func TestTokensOverIPv6(t *testing.T) {
	p, st := tokenPolicy(t)
	p.PublicURL6, p.Self6 = "http://[fd42:231::1]:8080", netip.MustParseAddr("fd42:231::1")
	alpha6, slaac := netip.MustParseAddr("fd42:231::105"), netip.MustParseAddr("fd42:231::5054:ff:fe00:1")
	// Only the IPv4 binding so far: alpha over IPv6 gets no token.
	r := p.Request(Client{MAC: alpha, Addr: alpha6})
	if r.FileToken != "" || !strings.Contains(r.NoToken, "DHCPv6 has bound no address") {
		t.Errorf("over IPv6 with only a DHCPv4 binding: token %q, no-token %q", r.FileToken, r.NoToken)
	}
	if ok, _ := p.FileAllowed(menus.Request{MAC: alpha, ClientIP: alpha6}, ""); ok {
		t.Error("an IPv6 address DHCPv6 never bound may fetch alpha's files")
	}
	now := st.Now()
	st.Bind(alpha, state.Binding{Addr: alpha6, Since: now, Until: now.Add(time.Hour), Source: state.BoundByLease})
	r = p.Request(Client{MAC: alpha, Addr: alpha6})
	if r.FileToken == "" || !strings.HasPrefix(r.Callback, "http://[fd42:231::1]:8080/api/v1/machines/") {
		t.Errorf("from its DHCPv6 address: token %q, callback %q, no-token %q", r.FileToken, r.Callback, r.NoToken)
	}
	if srv := p.ServerFor(alpha6); srv.URL != "http://[fd42:231::1]:8080" || p.tftpURL(alpha6) != "tftp://[fd42:231::1]/" {
		t.Errorf("URLs for an IPv6 client: %q and %q", srv.URL, p.tftpURL(alpha6))
	}
	for from, want := range map[netip.Addr]string{
		alpha6:  "",
		alphaIP: "", // the IPv4 binding still holds for IPv4
		slaac:   "is not 52:54:00:00:00:01's bound address fd42:231::105",
		netip.MustParseAddr("::ffff:10.231.0.101"): "",
	} {
		ok, why := p.FileAllowed(menus.Request{MAC: alpha, ClientIP: from}, "")
		if (want == "") != ok || !strings.Contains(why, want) {
			t.Errorf("from %s: allowed %v (%s), want %q", from, ok, why, want)
		}
	}
	if r := p.Request(Client{MAC: alpha, Addr: alphaIP}); !strings.HasPrefix(r.Callback, "http://10.231.0.1:8080/") {
		t.Errorf("IPv4 client's callback %q", r.Callback)
	}
}
