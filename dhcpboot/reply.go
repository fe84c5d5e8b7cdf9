package dhcpboot

import (
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

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

// addBoot adds the boot file, option 60 and the PXE options to r, a
// reply of type mt; proxy says it comes from a proxyDHCP server.
//
// A Raspberry Pi's offer names no boot file: it gets option 43 with
// "Raspberry Pi Boot", and the TFTP server as siaddr (set by newReply)
// and as option 66 in dotted form, the one form its bootloader reads
// there; it then reads start4.elf and the rest under its own prefix (see
// tftpboot).
func addBoot(r *dhcpv4.DHCPv4, c Client, d Decision, mt dhcpv4.MessageType, proxy bool) {
	if !d.Boot {
		return
	}
	r.UpdateOption(dhcpv4.OptClassIdentifier(d.VendorClass))
	if len(c.GUID) > 0 {
		// PXE 2.1 section 2.2.5: option 97 is echoed in PXE replies.
		r.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionClientMachineIdentifier, c.GUID))
	}
	if d.RaspberryPi {
		r.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionVendorSpecificInformation, piBoot))
		r.UpdateOption(dhcpv4.OptTFTPServerName(r.ServerIPAddr.String()))
		return
	}
	if len(d.BootFile) < 128 {
		r.BootFileName = d.BootFile
	}
	r.UpdateOption(dhcpv4.OptBootFileName(d.BootFile))
	if discoveryControl(c, d, mt, proxy) {
		r.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionVendorSpecificInformation, pxeDiscoveryControl))
	}
}

// discoveryControl says whether a reply to PXE firmware carries option 43
// with discovery control 8 ("boot the file named here"). iPXE and HTTP
// Boot clients ignore it and get none.
//
// Legacy BIOS ROMs get it in every reply: it is plain PXE 2.1, and they
// boot the file at once.
//
// UEFI firmware gets it everywhere but in a proxyDHCP OFFER. Some UEFI
// firmwares ignore a proxy offer that tries to bypass boot server
// discovery (pixiecore leaves option 43 out for EFI for this reason),
// while every one handles a proxy offer without option 43 as pointing at
// a PXE boot server on port 4011 of its sender: TianoCore, which most
// UEFI firmwares build on, classes it as a "WfM 1.1a" proxy offer and
// asks port 4011 for the boot file, and bootwright answers there. OVMF
// was seen booting both ways here; the port 4011 exchange costs it about
// three seconds of the boot (test/vm, uefi-proxy).
func discoveryControl(c Client, d Decision, mt dhcpv4.MessageType, proxy bool) bool {
	if d.VendorClass != vendorPXE || c.IPXE {
		return false
	}
	return !(proxy && mt == dhcpv4.MessageTypeOffer && c.Arch.IsEFI())
}

// proxyReply builds a proxyDHCP OFFER (port 67) or ACK (port 4011): boot
// options only, never an address (yiaddr stays 0.0.0.0).
func proxyReply(req *dhcpv4.DHCPv4, c Client, d Decision, self netip.Addr, mt dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	r := newReply(req, self, mt)
	r.YourIPAddr = net.IPv4zero
	addBoot(r, c, d, mt, true)
	return r
}

// leaseReply builds a full-mode OFFER or ACK for addr on subnet n (or an
// ACK to DHCPINFORM when addr is invalid: no yiaddr, no lease times).
func leaseReply(r query, self netip.Addr, n *Subnet, addr netip.Addr, mt dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	return leaseReplyFor(r, self, n, addr, mt, n.leaseTime())
}

// leaseReplyFor is leaseReply with a lease time of lt rather than the
// subnet's.
func leaseReplyFor(r query, self netip.Addr, n *Subnet, addr netip.Addr, mt dhcpv4.MessageType, lt time.Duration) *dhcpv4.DHCPv4 {
	reply := newReply(r.req, self, mt)
	if addr.IsValid() {
		reply.YourIPAddr = net.IP(addr.AsSlice())
		reply.UpdateOption(dhcpv4.OptIPAddressLeaseTime(lt))         // option 51
		reply.UpdateOption(dhcpv4.OptRenewTimeValue(lt / 2))         // T1, option 58 (RFC 2131 4.4.5)
		reply.UpdateOption(dhcpv4.OptRebindingTimeValue(lt * 7 / 8)) // T2, option 59
	}
	reply.UpdateOption(dhcpv4.OptSubnetMask(n.mask()))
	if len(n.Routers) > 0 {
		reply.UpdateOption(dhcpv4.OptRouter(ips(n.Routers)...))
	}
	if len(n.DNS) > 0 {
		reply.UpdateOption(dhcpv4.OptDNS(ips(n.DNS)...))
	}
	if n.Domain != "" {
		reply.UpdateOption(dhcpv4.OptDomainName(n.Domain))
	}
	if r.h.Hostname != "" {
		reply.UpdateOption(dhcpv4.OptHostName(r.h.Hostname)) // option 12
	}
	addBoot(reply, r.c, r.d, mt, false)
	return reply
}

// nakReply builds a DHCPNAK (RFC 2131 4.3.2) carrying msg as option 56.
func nakReply(req *dhcpv4.DHCPv4, self netip.Addr, msg string) *dhcpv4.DHCPv4 {
	r := newReply(req, self, dhcpv4.MessageTypeNak)
	r.ServerIPAddr = net.IPv4zero
	r.YourIPAddr = net.IPv4zero
	r.UpdateOption(dhcpv4.OptMessage(msg))
	if !req.GatewayIPAddr.IsUnspecified() && req.GatewayIPAddr != nil {
		// RFC 2131 4.3.2: a relayed NAK asks the relay to broadcast it, as
		// the client's address and mask may be wrong.
		r.SetBroadcast()
	}
	return r
}

func ips(as []netip.Addr) []net.IP {
	out := make([]net.IP, len(as))
	for i, a := range as {
		out[i] = net.IP(a.AsSlice())
	}
	return out
}
