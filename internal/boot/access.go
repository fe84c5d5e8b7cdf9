package boot

import (
	"net/netip"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/token"
	"github.com/bootwright/bootwright/menus"
)

// FileAllowed says whether a request from addr, with the file token tok
// from its URL ("" for none), may have mac's per-machine files, whose
// resolved data is d: always when they are open or the server keeps no
// state to check with; else when tok is mac's file token, or the request
// comes from the address DHCP gave or saw for mac. why says what refused it.
func (p *Policy) FileAllowed(mac hw.MAC, d *menus.Data, tok string, addr netip.Addr) (ok bool, why string) {
	if p.State == nil || d.FileAccess == menus.FileAccessOpen {
		return true, ""
	}
	if tok != "" {
		if (token.Signer{Key: p.State.Secret()}).Verify(token.Files, mac.String(), tok) {
			return true, ""
		}
		return false, "wrong token"
	}
	if leased, ok := p.State.DHCPAddr(mac); ok && leased == addr.Unmap() {
		return true, ""
	}
	return false, "request from " + addr.String() + ", which DHCP did not give or see for " + mac.String() + ", and no token"
}

// CallbackValid reports whether tok is mac's installer callback token.
func (p *Policy) CallbackValid(mac hw.MAC, tok string) bool {
	return p.State != nil && (token.Signer{Key: p.State.Secret()}).Verify(token.Installed, mac.String(), tok)
}
