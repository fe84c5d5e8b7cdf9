package doctor

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

// vendorClass is option 60 as a PXE ROM of arch a sends it (PXE 2.1
// section 2.2.1: "PXEClient:Arch:xxxxx:UNDI:yyyzzz"), with the UNDI
// version BIOS and UEFI ROMs report.
func vendorClass(a hw.Arch) string {
	undi := "003016"
	if a.Firmware() == hw.FirmwareBIOS {
		undi = "002001"
	}
	return fmt.Sprintf("PXEClient:Arch:%05d:UNDI:%s", a.Code(), undi)
}

// Offer is one DHCP reply as doctor saw it.
type Offer struct {
	Type        string         `json:"type"`                  // OFFER, ACK or NAK (option 53)
	ServerID    netip.Addr     `json:"server_id"`             // option 54
	Source      netip.AddrPort `json:"source"`                // where the packet came from
	YourIP      netip.Addr     `json:"yiaddr"`                // the offered address; invalid for proxyDHCP
	Mask        int            `json:"mask_bits,omitempty"`   // option 1, as a prefix length
	NextServer  netip.Addr     `json:"siaddr"`                // siaddr: the TFTP server
	TFTPServer  string         `json:"option_66,omitempty"`   // option 66, TFTP server name
	File        string         `json:"file,omitempty"`        // the BOOTP file field
	BootFile    string         `json:"option_67,omitempty"`   // option 67, boot file name
	VendorClass string         `json:"option_60,omitempty"`   // option 60: "PXEClient" marks PXE replies
	Option43    hexBytes       `json:"option_43,omitempty"`   // vendor options (PXE 2.1 encapsulated)
	Discovery   int            `json:"discovery_control"`     // PXE 2.1 option 43 sub-option 6; -1: absent
	GUIDEchoed  bool           `json:"guid_echoed,omitempty"` // option 97 came back unchanged
	Arrived     time.Duration  `json:"arrived_ns"`            // after the request was sent
}

// Proxy reports whether the offer carries no address: a proxyDHCP offer
// (or a boot server ACK).
func (o Offer) Proxy() bool { return !o.YourIP.IsValid() }

// PXE reports whether the reply has PXE extensions (option 60 "PXEClient").
func (o Offer) PXE() bool { return o.VendorClass == "PXEClient" }

// BootName is the boot file a PXE ROM takes from the offer: the file
// field, else option 67.
func (o Offer) BootName() string {
	if o.File != "" {
		return o.File
	}
	return o.BootFile
}

// HasBoot reports whether the offer names a boot file.
func (o Offer) HasBoot() bool { return o.BootName() != "" }

// BootAtOnce reports whether PXE discovery control (option 43 sub-option
// 6) has bit 3 set: "download the boot file in the offer, skip boot
// server discovery" (PXE 2.1 table 2-1).
func (o Offer) BootAtOnce() bool { return o.Discovery >= 0 && o.Discovery&8 != 0 }

// hexBytes is a byte string shown in hex in JSON.
type hexBytes []byte

// MarshalText writes b as hex.
func (b hexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(b)), nil }

// Exchange is one request that expects a single reply.
type Exchange struct {
	To    netip.AddrPort `json:"to"`
	Reply *Offer         `json:"reply"` // nil: nothing came back within Wait
	Wait  time.Duration  `json:"wait_ns"`
	Err   string         `json:"error,omitempty"` // the request could not be sent
}

// Answered reports whether a reply of type typ came back.
func (e *Exchange) Answered(typ string) bool {
	return e != nil && e.Reply != nil && e.Reply.Type == typ
}

// Fetch is one download: the boot file over TFTP or HTTP, or an iPXE
// script over HTTP.
type Fetch struct {
	URL      string        `json:"url"` // tftp://SERVER/FILE or http://...
	Size     int64         `json:"size"`
	TSize    int64         `json:"tsize"` // RFC 2349 size the server announced; -1: none
	Elapsed  time.Duration `json:"elapsed_ns"`
	Err      string        `json:"error,omitempty"`
	Timeout  bool          `json:"timeout,omitempty"`    // no answer at all
	TFTPCode int           `json:"tftp_code,omitempty"`  // the server's TFTP ERROR code (1 not found, 2 access violation)
	TFTPMsg  string        `json:"tftp_error,omitempty"` // and its message
	Status   int           `json:"http_status,omitempty"`
	IPXE     bool          `json:"ipxe_script,omitempty"` // the body starts with #!ipxe
	Chain    string        `json:"chain,omitempty"`       // the first chain target in the script, as written
}

// OK reports whether the download completed.
func (f *Fetch) OK() bool { return f != nil && f.Err == "" }

// Facts is everything doctor observed, step by step.
type Facts struct {
	Interface string        `json:"interface"`
	MAC       string        `json:"mac"`
	Arch      hw.Arch       `json:"arch"`
	Wait      time.Duration `json:"wait_ns"`

	Offers     []Offer   `json:"offers"`                // step 1: replies to the PXE DISCOVER
	Request    *Exchange `json:"request,omitempty"`     // step 2: DHCPREQUEST to the address server
	Assigned   string    `json:"assigned,omitempty"`    // address put on the interface for steps 2-4
	BootServer *Exchange `json:"boot_server,omitempty"` // step 2: REQUEST to the proxy's port 4011
	NBP        *Fetch    `json:"nbp,omitempty"`         // step 3
	IPXEOffers []Offer   `json:"ipxe_offers,omitempty"` // step 4: replies to an iPXE DISCOVER
	IPXESent   bool      `json:"ipxe_sent"`             // the iPXE DISCOVER was sent
	Script     *Fetch    `json:"script,omitempty"`      // step 4: the URL iPXE is told (/boot.ipxe)
	Menu       *Fetch    `json:"menu,omitempty"`        // step 4: what that script chains to
}

// offerFrom records a reply packet.
func offerFrom(p *dhcpv4.DHCPv4, src net.Addr, guid []byte, after time.Duration) Offer {
	o := Offer{
		Type:        p.MessageType().String(),
		ServerID:    addr4(p.ServerIdentifier()),
		YourIP:      addr4(p.YourIPAddr),
		NextServer:  addr4(p.ServerIPAddr),
		TFTPServer:  p.TFTPServerName(),
		File:        p.BootFileName,
		BootFile:    p.BootFileNameOption(),
		VendorClass: p.ClassIdentifier(),
		Option43:    p.Options.Get(dhcpv4.OptionVendorSpecificInformation),
		Discovery:   discoveryControl(p.Options.Get(dhcpv4.OptionVendorSpecificInformation)),
		GUIDEchoed:  len(guid) > 0 && bytes.Equal(p.Options.Get(dhcpv4.OptionClientMachineIdentifier), guid),
		Arrived:     after,
	}
	if ua, ok := src.(*net.UDPAddr); ok {
		o.Source = netip.AddrPortFrom(addr4(ua.IP), uint16(ua.Port))
	}
	if m := p.SubnetMask(); m != nil {
		o.Mask, _ = m.Size()
	}
	return o
}

// discoveryControl finds PXE_DISCOVERY_CONTROL (tag 6) in option 43's
// encapsulated options (PXE 2.1 section 2.2.5), or -1.
func discoveryControl(opt43 []byte) int {
	for i := 0; i < len(opt43); {
		tag := opt43[i]
		if tag == 255 {
			break
		}
		if tag == 0 {
			i++
			continue
		}
		if i+1 >= len(opt43) {
			break
		}
		n := int(opt43[i+1])
		if i+2+n > len(opt43) {
			break
		}
		if tag == 6 && n >= 1 {
			return int(opt43[i+2])
		}
		i += 2 + n
	}
	return -1
}

// addr4 maps nil and 0.0.0.0 to the zero Addr, so IsValid means present.
func addr4(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok || a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}
