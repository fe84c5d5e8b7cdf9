package hw

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// MAC is an Ethernet (EUI-48) address. It is comparable, so it serves as
// a map key, and its zero value means "not known": no boot client sends
// 00:00:00:00:00:00.
type MAC [6]byte

// ParseMAC parses a 6-byte Ethernet address written with colons
// (52:54:00:12:34:56), hyphens (52-54-00-12-34-56, iPXE's ${mac:hexhyp}
// and the form URLs use) or dots (5254.0012.3456), in either case, with
// surrounding space ignored. Every other length or form is an error.
func ParseMAC(s string) (MAC, error) {
	a, err := net.ParseMAC(strings.TrimSpace(s))
	if err != nil || len(a) != 6 {
		return MAC{}, fmt.Errorf("invalid MAC address %q", s)
	}
	return MAC(a), nil
}

// MACFrom converts a 6-byte hardware address; ok is false for any other
// length.
func MACFrom(a net.HardwareAddr) (m MAC, ok bool) {
	if len(a) != 6 {
		return MAC{}, false
	}
	return MAC(a), true
}

// String returns the address as 52:54:00:12:34:56, the form logs,
// machines.yaml, the state store and the API use.
func (m MAC) String() string { return net.HardwareAddr(m[:]).String() }

// URL returns the address as 52-54-00-12-34-56: the form in every URL
// and TFTP file name bootwright serves (iPXE's ${mac:hexhyp}, PXELINUX's
// and GRUB's 01-<mac> config names), safe in a path segment.
func (m MAC) URL() string { return strings.ReplaceAll(m.String(), ":", "-") }

// Hex returns the address as 12 lower-case hex digits, the form group
// MAC selectors (prefixes of any length) match against.
func (m MAC) Hex() string { return hex.EncodeToString(m[:]) }

// HardwareAddr returns the address as a net.HardwareAddr.
func (m MAC) HardwareAddr() net.HardwareAddr { return net.HardwareAddr(m[:]) }

// IsZero reports whether m is the zero value, "not known".
func (m MAC) IsZero() bool { return m == MAC{} }

// MarshalText writes the String form, so a MAC is a string in JSON.
func (m MAC) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses any form ParseMAC accepts.
func (m *MAC) UnmarshalText(b []byte) error {
	v, err := ParseMAC(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// MACFromEUI64 returns the MAC an IPv6 address carries in a modified
// EUI-64 interface identifier (RFC 4291 appendix A): the last 8 bytes are
// the MAC's first three with the universal/local bit flipped, ff:fe, and
// its last three. A link-local address formed that way is where a client
// such as iPXE sends DHCPv6 from. ok is false for an identifier of any
// other form (privacy and stable-privacy addresses, RFC 8981 and 7217),
// which carries no MAC.
func MACFromEUI64(a netip.Addr) (m MAC, ok bool) {
	if !a.Is6() || a.Is4In6() {
		return MAC{}, false
	}
	b := a.As16()
	if b[11] != 0xff || b[12] != 0xfe {
		return MAC{}, false
	}
	m = MAC{b[8] ^ 0x02, b[9], b[10], b[13], b[14], b[15]}
	return m, !m.IsZero()
}

// HexPrefix normalises a MAC or a prefix of one, written with any of the
// separators ParseMAC accepts or none, to lower-case hex digits without
// separators ("52:54:00" -> "525400"); it fails on anything that is not
// 1 to 12 hex digits.
func HexPrefix(s string) (string, error) {
	h := strings.ToLower(strings.NewReplacer(":", "", "-", "", ".", "").Replace(strings.TrimSpace(s)))
	if h == "" || len(h) > 12 || strings.Trim(h, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%q is not a MAC address or a prefix of one", s)
	}
	return h, nil
}

// MACFromHexPrefix returns the MAC that starts with the hex prefix h (as
// HexPrefix returns it), padded with zeros: a stand-in machine for a
// group that selects by MAC prefix.
func MACFromHexPrefix(h string) (MAC, error) {
	b, err := hex.DecodeString((h + "000000000000")[:12])
	if err != nil {
		return MAC{}, fmt.Errorf("mac prefix %q: %w", h, err)
	}
	return MAC(b), nil
}

// MustParseMAC is ParseMAC for constants: it panics on a bad address.
func MustParseMAC(s string) MAC {
	m, err := ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}
