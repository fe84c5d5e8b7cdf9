package dhcpboot

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Match selects clients by MAC and by vendor class (option 60).
type Match struct {
	// MACs are full addresses or prefixes of one to five bytes
	// ("52:54:00" matches every QEMU NIC).
	MACs []net.HardwareAddr
	// VendorClasses are prefixes of option 60 ("PXEClient:Arch:00011",
	// "HTTPClient", "android-dhcp").
	VendorClasses []string
}

// Empty reports whether the match lists nothing.
func (m Match) Empty() bool { return len(m.MACs) == 0 && len(m.VendorClasses) == 0 }

// Matches reports whether c's MAC or vendor class is on the list.
func (m Match) Matches(c Client) bool {
	for _, p := range m.MACs {
		if bytes.HasPrefix(c.MAC[:], p) {
			return true
		}
	}
	for _, v := range m.VendorClasses {
		if strings.HasPrefix(c.VendorClass, v) {
			return true
		}
	}
	return false
}

// Filter says which clients the server answers at all, in either mode.
// Deny wins over Allow; an empty Allow allows everyone.
type Filter struct {
	Allow, Deny Match
}

// Admit reports whether f lets c be answered, and if not, why. It is a pure
// function of its inputs.
func (f Filter) Admit(c Client) (bool, string) {
	if f.Deny.Matches(c) {
		return false, "on the deny list"
	}
	if !f.Allow.Empty() && !f.Allow.Matches(c) {
		return false, "not on the allow list"
	}
	return true, ""
}

// ParseMACPrefix parses a MAC address or a prefix of one to five bytes,
// written with ':' or '-' between bytes ("52:54:00", "52-54-00-12-34-56").
func ParseMACPrefix(s string) (net.HardwareAddr, error) {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == '-' })
	if len(parts) == 0 || len(parts) > 6 {
		return nil, fmt.Errorf("mac %q: want up to six hex bytes like 52:54:00", s)
	}
	out := make(net.HardwareAddr, len(parts))
	for i, p := range parts {
		b, err := strconv.ParseUint(p, 16, 8)
		if len(p) != 2 || err != nil {
			return nil, fmt.Errorf("mac %q: byte %q is not two hex digits", s, p)
		}
		out[i] = byte(b)
	}
	return out, nil
}
