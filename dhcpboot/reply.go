package dhcpboot

import (
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Network holds the options a full-mode server hands out with an address.
type Network struct {
	Range     Range
	Mask      net.IPMask   // option 1
	Routers   []netip.Addr // option 3, omitted when empty
	DNS       []netip.Addr // option 6, omitted when empty
	Domain    string       // option 15, omitted when empty
	LeaseTime time.Duration
}

// pxeDiscoveryControl is PXE 2.1 option 43 with sub-option 6
// (PXE_DISCOVERY_CONTROL) set to 8: "if a boot file name is present,
// download it directly"; the client skips boot server discovery.
var pxeDiscoveryControl = []byte{6, 1, 8, 255}

// newReply starts a reply of type mt to req from self. Like
// dhcpv4.NewReplyFromRequest, it copies xid, flags, chaddr and giaddr and
// echoes options 82 (RFC 3046) and 61 (RFC 6842), but draws no random
// transaction ID it would overwrite anyway.
func newReply(req *dhcpv4.DHCPv4, self netip.Addr, mt dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	r := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        req.HWType,
		TransactionID: req.TransactionID,
		Flags:         req.Flags,
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IP(self.AsSlice()),
		GatewayIPAddr: req.GatewayIPAddr,
		ClientHWAddr:  req.ClientHWAddr,
		Options:       dhcpv4.Options{},
	}
	for _, code := range []dhcpv4.OptionCode{dhcpv4.OptionRelayAgentInformation, dhcpv4.OptionClientIdentifier} {
		if v := req.Options.Get(code); v != nil {
			r.UpdateOption(dhcpv4.OptGeneric(code, v))
		}
	}
	r.UpdateOption(dhcpv4.OptMessageType(mt))
	r.UpdateOption(dhcpv4.OptServerIdentifier(net.IP(self.AsSlice())))
	return r
}

// addBoot adds the boot file, option 60 and the PXE options to r.
func addBoot(r *dhcpv4.DHCPv4, c Client, d Decision) {
	if !d.Boot {
		return
	}
	if len(d.BootFile) < 128 {
		r.BootFileName = d.BootFile
	}
	r.UpdateOption(dhcpv4.OptBootFileName(d.BootFile))
	r.UpdateOption(dhcpv4.OptClassIdentifier(d.VendorClass))
	if d.VendorClass == vendorPXE && !c.IPXE {
		r.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionVendorSpecificInformation, pxeDiscoveryControl))
	}
	if len(c.GUID) > 0 {
		// PXE 2.1 section 2.2.5: option 97 is echoed in PXE replies.
		r.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionClientMachineIdentifier, c.GUID))
	}
}

// proxyReply builds a proxyDHCP OFFER (port 67) or ACK (port 4011): boot
// options only, never an address (yiaddr stays 0.0.0.0).
func proxyReply(req *dhcpv4.DHCPv4, c Client, d Decision, self netip.Addr, mt dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	r := newReply(req, self, mt)
	r.YourIPAddr = net.IPv4zero
	addBoot(r, c, d)
	return r
}

// leaseReply builds a full-mode OFFER or ACK for addr (or an ACK to
// DHCPINFORM when addr is invalid: no yiaddr, no lease time).
func leaseReply(req *dhcpv4.DHCPv4, c Client, d Decision, self netip.Addr, n Network, addr netip.Addr, mt dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	r := newReply(req, self, mt)
	if addr.IsValid() {
		r.YourIPAddr = net.IP(addr.AsSlice())
		r.UpdateOption(dhcpv4.OptIPAddressLeaseTime(n.LeaseTime))
		r.UpdateOption(dhcpv4.OptRenewTimeValue(n.LeaseTime / 2))
		r.UpdateOption(dhcpv4.OptRebindingTimeValue(n.LeaseTime * 7 / 8))
	}
	if n.Mask != nil {
		r.UpdateOption(dhcpv4.OptSubnetMask(n.Mask))
	}
	if len(n.Routers) > 0 {
		r.UpdateOption(dhcpv4.OptRouter(ips(n.Routers)...))
	}
	if len(n.DNS) > 0 {
		r.UpdateOption(dhcpv4.OptDNS(ips(n.DNS)...))
	}
	if n.Domain != "" {
		r.UpdateOption(dhcpv4.OptDomainName(n.Domain))
	}
	addBoot(r, c, d)
	return r
}

// nakReply builds a DHCPNAK (RFC 2131 4.3.2) carrying msg as option 56.
func nakReply(req *dhcpv4.DHCPv4, self netip.Addr, msg string) *dhcpv4.DHCPv4 {
	r := newReply(req, self, dhcpv4.MessageTypeNak)
	r.ServerIPAddr = net.IPv4zero
	r.YourIPAddr = net.IPv4zero
	r.UpdateOption(dhcpv4.OptMessage(msg))
	return r
}

func ips(as []netip.Addr) []net.IP {
	out := make([]net.IP, len(as))
	for i, a := range as {
		out[i] = net.IP(a.AsSlice())
	}
	return out
}
