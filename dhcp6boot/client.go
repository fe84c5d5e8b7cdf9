package dhcp6boot

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/hw"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// Errors that drop a datagram. Each drop is counted (OutMalformed, or
// OutNoMAC for ErrNoMAC).
var (
	// ErrMalformed marks a datagram that is not a usable DHCPv6 client
	// message: it does not parse, an option runs past its end, it is not
	// a message a client sends, or its relay envelopes nest too deep.
	ErrMalformed = errors.New("malformed dhcpv6 message")
	// ErrNoMAC marks a client message that names no MAC by any of the
	// means in MACSource: bootwright knows machines by MAC.
	ErrNoMAC = errors.New("no MAC for this client")
)

// HopLimit is RFC 8415's HOP_COUNT_LIMIT (section 7.6): a message inside
// more relay envelopes than this is dropped.
const HopLimit = 8

// IA is one IA_NA (option 3) of a request: its IAID and the addresses
// the client named in it (option 5), if any.
type IA struct {
	IAID  [4]byte
	Addrs []netip.Addr
}

// Hop is one relay envelope (Relay-Forw) a message came in, outermost
// first in Client.Relays.
type Hop struct {
	HopCount uint8
	Link     netip.Addr // link-address: the link the client is on (unspecified: set by interface-id)
	Peer     netip.Addr // peer-address: where the relay got the message from
	// LinkLayer is the client's link-layer address the relay saw (option
	// 79, RFC 6939), zero when it sent none or not an Ethernet one.
	LinkLayer hw.MAC
	msg       *dhcpv6.RelayMessage
}

// Client is what bootwright needs to know about a DHCPv6 client, parsed
// once from its message and the relay envelopes around it.
type Client struct {
	MAC hw.MAC
	// MACSource says where MAC came from: "duid-ll", "duid-llt",
	// "relay-79", "eui-64" or "neighbor".
	MACSource string
	DUID      dhcpv6.DUID // option 1, echoed in every reply
	XID       dhcpv6.TransactionID
	Type      dhcpv6.MessageType
	Arch      hw.Arch // option 61 (RFC 5970), else the Arch field of option 16

	// VendorClass is the first datum of option 16 (RFC 8415 21.16), e.g.
	// "PXEClient:Arch:00007:UNDI:003000" (UEFI firmware PXE) or
	// "HTTPClient:Arch:00016:UNDI:003001" (UEFI HTTP Boot).
	VendorClass string
	UserClass   []string // option 15 (RFC 8415 21.15), e.g. ["iPXE"]
	IPXE        bool     // the user class says iPXE: the client already runs it

	IAs         []IA        // IA_NA options, in order
	ServerID    dhcpv6.DUID // option 2: the server the client addresses, nil when none
	RapidCommit bool        // option 14: the client takes a Reply to its Solicit
	Peer        netip.Addr  // the datagram's source: the client, or the outermost relay
	Relays      []Hop       // relay envelopes, outermost first; nil when not relayed
}

// Relayed reports whether the message came through relays.
func (c Client) Relayed() bool { return len(c.Relays) > 0 }

// Link is the address that selects the client's subnet: the link-address
// of the relay nearest the client, unspecified when not relayed.
func (c Client) Link() netip.Addr {
	if !c.Relayed() {
		return netip.Addr{}
	}
	return c.Relays[len(c.Relays)-1].Link
}

// Source is the client's own address: the datagram's source, or the
// peer-address of the relay nearest the client.
func (c Client) Source() netip.Addr {
	if !c.Relayed() {
		return c.Peer
	}
	return c.Relays[len(c.Relays)-1].Peer
}

// PXE reports whether the client is a network-boot client: PXE firmware,
// a UEFI HTTP Boot client or iPXE.
func (c Client) PXE() bool { return c.dhcpv4().PXE() }

// dhcpv4 is the client as dhcpboot's decision and filter see one: the
// same MAC, arch, vendor class and user class, whichever protocol said them.
func (c Client) dhcpv4() dhcpboot.Client {
	return dhcpboot.Client{MAC: c.MAC, Arch: c.Arch, VendorClass: c.VendorClass, UserClass: c.UserClass, IPXE: c.IPXE}
}

// clientTypes are the messages a server takes from clients (RFC 8415
// section 7.3); a relay's envelopes are unwrapped before.
var clientTypes = map[dhcpv6.MessageType]bool{
	dhcpv6.MessageTypeSolicit: true, dhcpv6.MessageTypeRequest: true, dhcpv6.MessageTypeConfirm: true,
	dhcpv6.MessageTypeRenew: true, dhcpv6.MessageTypeRebind: true, dhcpv6.MessageTypeRelease: true,
	dhcpv6.MessageTypeDecline: true, dhcpv6.MessageTypeInformationRequest: true,
}

// Parse turns a datagram from peer into the client message inside it and
// its Client. neighbor, if set, finds the MAC behind an address when the
// message itself names none. Errors wrap ErrMalformed or ErrNoMAC; the
// message type is returned with them when it was read (for counting).
func Parse(b []byte, peer netip.Addr, neighbor func(netip.Addr) (hw.MAC, bool)) (*dhcpv6.Message, Client, error) {
	inner, err := unwrapCheck(b)
	if err != nil {
		return nil, Client{}, err
	}
	p, err := dhcpv6.FromBytes(b)
	if err != nil {
		return nil, Client{Type: dhcpv6.MessageType(inner)}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	c := Client{Peer: peer.Unmap()}
	for p.IsRelay() {
		rm := p.(*dhcpv6.RelayMessage)
		c.Relays = append(c.Relays, hopOf(rm))
		if p, err = dhcpv6.DecapsulateRelay(rm); err != nil {
			return nil, Client{Type: dhcpv6.MessageType(inner)}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	m := p.(*dhcpv6.Message)
	c.Type, c.XID = m.MessageType, m.TransactionID
	if !clientTypes[c.Type] {
		return nil, c, fmt.Errorf("%w: %s is not a message a client sends", ErrMalformed, c.Type)
	}
	if c.DUID = m.Options.ClientID(); c.DUID == nil && c.Type != dhcpv6.MessageTypeInformationRequest {
		return nil, c, fmt.Errorf("%w: %s without a client identifier (option 1)", ErrMalformed, c.Type)
	}
	c.ServerID = m.Options.ServerID()
	c.RapidCommit = m.GetOneOption(dhcpv6.OptionRapidCommit) != nil
	c.readClass(m)
	for _, ia := range m.Options.IANA() {
		x := IA{IAID: ia.IaId}
		for _, a := range ia.Options.Addresses() {
			if addr, ok := netip.AddrFromSlice(a.IPv6Addr); ok && addr.Is6() {
				x.Addrs = append(x.Addrs, addr)
			}
		}
		c.IAs = append(c.IAs, x)
	}
	if c.MAC, c.MACSource = macOf(c, neighbor); c.MAC.IsZero() {
		return m, c, fmt.Errorf("%w: %s with DUID %s from %s (no DUID-LL/LLT, relay option 79, EUI-64 link-local address or neighbour entry)",
			ErrNoMAC, c.Type, c.DUID, c.Source())
	}
	return m, c, nil
}

// readClass reads the arch, vendor class and user class.
func (c *Client) readClass(m *dhcpv6.Message) {
	for _, vc := range m.Options.VendorClasses() {
		if len(vc.Data) > 0 {
			c.VendorClass = string(vc.Data[0])
			break
		}
	}
	for _, uc := range m.Options.UserClasses() {
		c.UserClass = append(c.UserClass, string(uc))
		if string(uc) == "iPXE" {
			c.IPXE = true
		}
	}
	if archs := m.Options.ArchTypes(); len(archs) > 0 {
		c.Arch = hw.ArchFromCode(uint16(archs[0]))
		return
	}
	fields := strings.Split(c.VendorClass, ":")
	for i := 0; i+1 < len(fields); i++ {
		if n, err := strconv.ParseUint(fields[i+1], 10, 16); fields[i] == "Arch" && err == nil {
			c.Arch = hw.ArchFromCode(uint16(n))
			return
		}
	}
}

func hopOf(rm *dhcpv6.RelayMessage) Hop {
	h := Hop{HopCount: rm.HopCount, msg: rm}
	h.Link, _ = netip.AddrFromSlice(rm.LinkAddr)
	h.Peer, _ = netip.AddrFromSlice(rm.PeerAddr)
	if ht, lla := rm.Options.ClientLinkLayerAddress(); ht == iana.HWTypeEthernet {
		h.LinkLayer, _ = hw.MACFrom(lla)
	}
	return h
}

// macOf finds the client's MAC, in order of how directly it names the
// machine: its DUID when that is built from an Ethernet address, the
// link-layer address the nearest relay saw, the modified EUI-64 of its
// link-local source address, the neighbour table.
func macOf(c Client, neighbor func(netip.Addr) (hw.MAC, bool)) (hw.MAC, string) {
	switch d := c.DUID.(type) {
	case *dhcpv6.DUIDLL:
		if m, ok := hw.MACFrom(d.LinkLayerAddr); ok && d.HWType == iana.HWTypeEthernet && !m.IsZero() {
			return m, "duid-ll"
		}
	case *dhcpv6.DUIDLLT:
		if m, ok := hw.MACFrom(d.LinkLayerAddr); ok && d.HWType == iana.HWTypeEthernet && !m.IsZero() {
			return m, "duid-llt"
		}
	}
	if c.Relayed() {
		if m := c.Relays[len(c.Relays)-1].LinkLayer; !m.IsZero() {
			return m, "relay-79"
		}
	}
	src := c.Source()
	if m, ok := hw.MACFromEUI64(src); ok && src.IsLinkLocalUnicast() {
		return m, "eui-64"
	}
	if neighbor != nil && !c.Relayed() {
		if m, ok := neighbor(src); ok && !m.IsZero() {
			return m, "neighbor"
		}
	}
	return hw.MAC{}, ""
}
