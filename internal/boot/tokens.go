package boot

import (
	"cmp"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/route"
	"github.com/bootwright/bootwright/internal/token"
	"github.com/bootwright/bootwright/menus"
)

// DefaultTokenTTL is how long a file or callback token stays valid:
// enough for a slow install on a slow mirror.
const DefaultTokenTTL = 6 * time.Hour

// Answer files carry password hashes and join credentials, so a machine's
// files go to that machine only. bootwright cannot authenticate a PXE
// client; what it can trust is what its own DHCP server did: the address
// it bound to the MAC (state.Binding), one per family: a DHCPv4 lease (or
// proxy port 4011 exchange) for requests over IPv4, a DHCPv6 Reply that
// granted an IA_NA address (or the DHCPv6 proxy's port 4011 exchange) for
// requests over IPv6. A SLAAC or link-local address, which bootwright
// never granted, is bound to nothing. So:
//
//   - A request from the bound address of its family needs no token.
//   - A menu asked for from the bound address carries a file token and a
//     callback token for this boot (issued at the binding's time), which
//     work from any address until TokenTTL ends or the install callback
//     or a reinstall revokes them: the installer may take a new address
//     (proxy mode, relays, its own DHCP) and still fetch its files.
//   - A menu asked for from anywhere else renders without tokens; its
//     file URLs are refused and the menu says why. file_access:
//     token-anywhere mints them anyway (NAT, relays bootwright does not
//     see), which is weaker: anyone who knows the MAC gets the files.

// tokenTTL returns TokenTTL or its default.
func (p *Policy) tokenTTL() time.Duration { return cmp.Or(p.TokenTTL, DefaultTokenTTL) }

// now is the state store's clock, which never goes back, or the wall
// clock without a store.
func (p *Policy) now() time.Time {
	if p.State != nil {
		return p.State.Now()
	}
	return time.Now()
}

// withTokens adds c's install state and, when c may have them, its file
// token and callback to req; else it says in req.NoToken why not.
func (p *Policy) withTokens(req *menus.Request, c Client) {
	req.State = p.State.StateOf(c.MAC)
	access := p.Config.Load().Menus.FileAccess(*req)
	if access == menus.FileAccessOpen {
		return
	}
	now := p.now()
	t := token.Token{MAC: c.MAC, Addr: c.Addr.Unmap()}
	b, bound := p.State.BindingFor(c.MAC, t.Addr, now)
	switch {
	case bound && b.Addr == t.Addr:
		t.Issued = b.Since
	case access == menus.FileAccessTokenAnywhere:
		t.Issued = p.anywhere.issue(c.MAC, now)
	case bound:
		req.NoToken = fmt.Sprintf("asked for from %s, but %s bound %s to %s", c.Addr, dhcpOf(t.Addr), c.MAC, b.Addr)
		return
	default:
		req.NoToken = fmt.Sprintf("asked for from %s, and %s has bound no address to %s", c.Addr, dhcpOf(t.Addr), c.MAC)
		return
	}
	signer := token.Signer{Key: p.State.Secret()}
	req.FileToken = signer.Mint(token.Files, t)
	req.Callback = p.URLFor(c.Addr) + route.InstalledPath(c.MAC, signer.Mint(token.Installed, t))
}

// WithFileToken returns req as the file token tok, which FileAllowed
// accepted, carries it: a file fetched by the installer from a new address
// renders with that boot's file token and callback, as the menu that
// handed out the token did, rather than as for an address never bound.
// Without a state store no token was ever minted, and req is unchanged.
func (p *Policy) WithFileToken(req menus.Request, tok string) menus.Request {
	if p.State == nil {
		return req
	}
	signer := token.Signer{Key: p.State.Secret()}
	t, err := signer.Parse(token.Files, tok)
	if err != nil || t.MAC != req.MAC {
		return req
	}
	req.FileToken, req.NoToken = tok, ""
	req.Callback = p.URLFor(req.ClientIP) + route.InstalledPath(req.MAC, signer.Mint(token.Installed, t))
	return req
}

// FileAllowed says whether req (from req.ClientIP, with the file token
// tok from its URL, "" for none) may have the per-machine files of
// req.MAC; why says what refused it. Without a state store there is
// nothing to check against, and everything is allowed.
func (p *Policy) FileAllowed(req menus.Request, tok string) (ok bool, why string) {
	if p.State == nil || p.Config.Load().Menus.FileAccess(req) == menus.FileAccessOpen {
		return true, ""
	}
	mac, addr := req.MAC, req.ClientIP
	if tok != "" {
		return p.checkToken(token.Files, mac, tok)
	}
	b, bound := p.State.BindingFor(mac, addr.Unmap(), p.now())
	switch {
	case bound && b.Addr == addr.Unmap():
		return true, ""
	case bound:
		return false, fmt.Sprintf("no token, and %s is not %s's bound address %s", addr, mac, b.Addr)
	}
	return false, fmt.Sprintf("no token, and %s has bound no address to %s", dhcpOf(addr), mac)
}

// dhcpOf names the DHCP whose binding a request from addr is held to:
// a request over IPv6 is held to what DHCPv6 bound, one over IPv4 to
// DHCP's; neither vouches for an address of the other family.
func dhcpOf(addr netip.Addr) string {
	if addr.Unmap().Is6() {
		return "DHCPv6"
	}
	return "DHCP"
}

// CallbackAllowed says whether tok is a live callback token of mac.
func (p *Policy) CallbackAllowed(mac hw.MAC, tok string) (ok bool, why string) {
	if p.State == nil {
		return false, "no state store"
	}
	return p.checkToken(token.Installed, mac, tok)
}

// checkToken checks a token of purpose for mac: this server's, for this
// machine, not expired, not revoked.
func (p *Policy) checkToken(purpose string, mac hw.MAC, tok string) (bool, string) {
	t, err := token.Signer{Key: p.State.Secret()}.Parse(purpose, tok)
	if err != nil {
		return false, err.Error()
	}
	now := p.now()
	switch ttl := p.tokenTTL(); {
	case t.MAC != mac:
		return false, fmt.Sprintf("token of another machine (%s)", t.MAC)
	case now.Sub(t.Issued) > ttl:
		return false, fmt.Sprintf("token expired at %s (issued %s, TTL %s)", t.Issued.Add(ttl).UTC().Format(time.RFC3339),
			t.Issued.UTC().Format(time.RFC3339), ttl)
	// Tokens count milliseconds: one minted in the millisecond of a
	// revocation counts as revoked, as no new boot comes that soon.
	case !t.Issued.After(p.State.RevokedBefore(mac)):
		return false, fmt.Sprintf("token revoked at %s (install callback or reinstall)", p.State.RevokedBefore(mac).UTC().Format(time.RFC3339))
	}
	return true, ""
}

// anywhereBoot is how long the menus of a token-anywhere machine without
// a binding here count as one boot, sharing their tokens' issue time.
const anywhereBoot = 30 * time.Minute

// anywhereBoots remembers when each token-anywhere machine's current boot
// began (its first menu request), so that its menus over HTTP and TFTP
// and its answer files carry the same tokens, as for a bound machine.
type anywhereBoots struct {
	mu    sync.Mutex
	start map[hw.MAC]time.Time
}

// issue returns the issue time of mac's tokens at now.
func (a *anywhereBoots) issue(mac hw.MAC, now time.Time) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.start == nil || len(a.start) >= 16384 {
		// Forget boots that are over; requests for made-up MACs in a
		// token-anywhere group cannot grow this without bound.
		old := a.start
		a.start = map[hw.MAC]time.Time{}
		for m, t := range old {
			if now.Sub(t) < anywhereBoot && len(a.start) < 8192 {
				a.start[m] = t
			}
		}
	}
	t, ok := a.start[mac]
	if !ok || now.Sub(t) >= anywhereBoot {
		t = now
		a.start[mac] = t
	}
	return t
}
