package dhcpboot

import (
	"cmp"
	"fmt"
	"net/netip"
	"strings"

	"github.com/bootwright/bootwright/internal/hw"
)

const (
	vendorPXE  = "PXEClient"
	vendorHTTP = "HTTPClient"
)

// Reasons of a Decision, for logs, metrics and boot events.
const (
	ReasonIPXE   = "ipxe"         // the client runs iPXE: it gets the script URL
	ReasonHTTP   = "http-boot"    // a UEFI HTTP Boot client: an http:// URL
	ReasonPXE    = "firmware-pxe" // PXE firmware: a TFTP file
	ReasonNotPXE = "not-pxe"      // not a network-boot client
	ReasonNoFile = "no-boot-file" // a boot client this server has no file for
	ReasonRPi    = "raspberrypi"  // a Raspberry Pi's bootloader: the "Raspberry Pi Boot" offer
)

// Policy is what the boot decision needs to know about this server.
type Policy struct {
	// BootFiles maps a client arch to the NBP it is offered: a TFTP file
	// name for PXE firmware, or, for UEFI HTTP Boot arches, a name resolved
	// against HTTPBase (or an absolute http:// URL). An arch missing from
	// the map gets no boot offer.
	BootFiles map[hw.Arch]string
	// IPXEScript is the URL handed to clients already running iPXE.
	IPXEScript string
	// HTTPBase is the URL prefix under which the TFTP files are also served
	// over HTTP, for UEFI HTTP Boot clients (e.g. "http://10.0.0.1:8080/tftp/").
	HTTPBase string
}

// DefaultBootFiles returns the arch to NBP map bootwright uses unless told
// otherwise: each arch's iPXE program (hw.Arch.NBP), with efiNBP
// (snponly.efi or ipxe.efi) for x86-64 UEFI. Arches without a program
// (Debian 12's ipxe package has no IA32 or ARM builds) get no offer.
func DefaultBootFiles(efiNBP string) map[hw.Arch]string {
	m := map[hw.Arch]string{}
	for _, a := range hw.Arches() {
		nbp := a.NBP()
		if nbp == hw.NBPSnponly && efiNBP != "" {
			nbp = efiNBP
		}
		if nbp != "" {
			m[a] = nbp
		}
	}
	return m
}

// Host is what the machines file says about one MAC.
type Host struct {
	IP         netip.Addr // reserved address in full mode (invalid: none)
	Hostname   string     // option 12
	IPXEScript string     // URL handed to this machine when it runs iPXE (empty: Policy.IPXEScript)
	BootFile   string     // NBP (or HTTP Boot file) for this machine's firmware (empty: by arch)
	// ArchBootFiles are this machine's files for some arches, ahead of
	// BootFile: a Secure Boot machine's x86-64 UEFI firmware gets the
	// signed shim while its BIOS side keeps its loader.
	ArchBootFiles map[hw.Arch]string
	// RaspberryPi says the machine is a Raspberry Pi 4 or 5 booting with
	// its own bootloader (loader: raspberrypi): its PXE request (arch 0)
	// gets the "Raspberry Pi Boot" offer instead of a boot file.
	RaspberryPi bool
}

// Decision is the outcome of Decide.
type Decision struct {
	Boot        bool   // false: send no boot options
	BootFile    string // TFTP file name or URL for the file field and option 67
	VendorClass string // option 60 in the reply: "PXEClient" or "HTTPClient"
	Reason      string // short machine-readable reason for logs and metrics
	// RaspberryPi: the reply is the Raspberry Pi bootloader's offer
	// (option 43 "Raspberry Pi Boot", option 66; no boot file).
	RaspberryPi bool
}

// Decide picks what a client boots. It is a pure function of the request,
// what the machines file says about the client (the zero Host when
// nothing) and the policy. The order of the cases matters:
//
//  1. A client already running iPXE (user class "iPXE" or option 175) also
//     sends option 60 "PXEClient"; handing it the NBP again would loop
//     forever, so it gets the HTTP script instead: its own (h.IPXEScript)
//     or the server's.
//  2. UEFI HTTP Boot clients ("HTTPClient", RFC 4578 arches 16, 19) must get
//     an http:// URL and option 60 "HTTPClient" echoed (UEFI 2.5+ 24.7).
//  3. A Raspberry Pi's bootloader (h.RaspberryPi; it sends "PXEClient"
//     and arch 0, as legacy BIOS does) gets the offer it looks for
//     instead of a boot file, which it would ignore.
//  4. PXE firmware ("PXEClient", PXE 2.1) gets the NBP for its arch over TFTP.
//  5. Anything else is not a network-boot client.
//
// A machine's own file for its arch (h.ArchBootFiles), else its
// h.BootFile, replaces the arch's file for cases 2 and 3, but never turns
// an arch that cannot boot that way into one that can.
func Decide(c Client, h Host, p Policy) Decision {
	switch {
	case c.IPXE:
		script := cmp.Or(h.IPXEScript, p.IPXEScript)
		if script == "" {
			return Decision{Reason: ReasonNoFile}
		}
		return Decision{Boot: true, BootFile: script, VendorClass: vendorPXE, Reason: ReasonIPXE}
	case c.IsHTTPClient():
		name, ok := bootFile(c, h, p)
		if !ok || !c.Arch.IsHTTP() {
			return Decision{Reason: ReasonNoFile}
		}
		if !strings.Contains(name, "://") {
			name = strings.TrimSuffix(p.HTTPBase, "/") + "/" + name
		}
		return Decision{Boot: true, BootFile: name, VendorClass: vendorHTTP, Reason: ReasonHTTP}
	case c.IsPXEClient() && h.RaspberryPi && c.Arch == hw.ArchBIOS:
		return Decision{Boot: true, VendorClass: vendorPXE, Reason: ReasonRPi, RaspberryPi: true}
	case c.IsPXEClient():
		name, ok := bootFile(c, h, p)
		if !ok || c.Arch.IsHTTP() {
			return Decision{Reason: ReasonNoFile}
		}
		return Decision{Boot: true, BootFile: name, VendorClass: vendorPXE, Reason: ReasonPXE}
	}
	return Decision{Reason: ReasonNotPXE}
}

// bootFile is the machine's own file for its arch, else its own file,
// else the policy's for its arch.
func bootFile(c Client, h Host, p Policy) (string, bool) {
	if f := h.ArchBootFiles[c.Arch]; f != "" {
		return f, true
	}
	if h.BootFile != "" {
		return h.BootFile, true
	}
	name, ok := p.BootFiles[c.Arch]
	return name, ok && name != ""
}

// String formats a decision for logs.
func (d Decision) String() string {
	if !d.Boot || d.BootFile == "" {
		return d.Reason
	}
	return fmt.Sprintf("%s %s", d.Reason, d.BootFile)
}
