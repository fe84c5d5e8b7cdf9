package doctor

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Severity says how much a finding matters.
type Severity int

// The severities, least first.
const (
	Info    Severity = iota // worth knowing
	Warning                 // boots, but fragile or non-standard
	Error                   // a machine would not boot
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	return [...]string{"info", "warning", "error"}[s]
}

// MarshalText makes a Severity a JSON string.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one conclusion drawn from the facts.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code,omitempty"` // the PXE error a firmware shows, e.g. "PXE-E53"
	Step     int      `json:"step"`           // the report section it belongs to (1-4)
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
}

// The PXE ROM error codes doctor reports (Intel PXE ROM messages, as
// shown by most firmware).
const (
	E51 = "PXE-E51" // No DHCP or proxyDHCP offers were received.
	E52 = "PXE-E52" // proxyDHCP offers were received. No DHCP offers were received.
	E53 = "PXE-E53" // No boot filename received.
	E55 = "PXE-E55" // proxyDHCP service did not reply to request on port 4011.
	E32 = "PXE-E32" // TFTP open timeout.
	E3B = "PXE-E3B" // TFTP Error - File Not found (or another TFTP error).
)

// Diagnose maps what doctor observed to findings, most important first
// within each step. It is a pure function of the facts.
func Diagnose(f Facts) []Finding {
	c := Choose(f.Offers)
	var out []Finding
	out = append(out, diagnoseOffers(f, c)...)
	if hasError(out) {
		return out
	}
	out = append(out, diagnoseRequest(f, c)...)
	out = append(out, diagnoseNBP(f, c)...)
	out = append(out, diagnoseIPXE(f, c)...)
	if !hasError(out) {
		out = append(out, success(f, c))
	}
	return out
}

// OK reports whether no finding is an error: a machine would boot.
func OK(fs []Finding) bool { return !hasError(fs) }

func hasError(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Error })
}

// diagnoseOffers covers step 1: who answered and what a ROM can use.
func diagnoseOffers(f Facts, c Choice) []Finding {
	var out []Finding
	var addrServers, bootServers []string
	for i, o := range f.Offers {
		if o.Type != "OFFER" {
			continue
		}
		if !o.Proxy() {
			addrServers = appendNew(addrServers, o.ServerID.String())
		}
		if o.HasBoot() {
			bootServers = appendNew(bootServers, fmt.Sprintf("%s (%s)", o.ServerID, o.BootName()))
		}
		out = append(out, offerWarnings(o, i == c.Boot)...)
	}
	switch {
	case len(addrServers) == 0 && c.Boot < 0:
		return []Finding{{Severity: Error, Code: E51, Step: 1,
			Message: fmt.Sprintf("No DHCP or proxyDHCP offers were received on %s within %s", f.Interface, f.Wait),
			Fix: "Nothing answered the PXE DHCPDISCOVER: start a DHCP server on this network (or bootwright --dhcp-mode full --dhcp-range ...), " +
				"and check the switch port (PortFast on, DHCP snooping trusting the server) or the relay (ip helper-address) between client and server."}}
	case len(addrServers) == 0:
		out = append(out, Finding{Severity: Error, Code: E52, Step: 1,
			Message: "proxyDHCP offers were received, but no DHCP offers: nothing gives the client an address",
			Fix:     "A proxyDHCP server only adds boot options: start the network's DHCP server, or run bootwright with --dhcp-mode full --dhcp-range FROM-TO."})
	case c.Boot < 0:
		out = append(out, Finding{Severity: Error, Code: E53, Step: 1,
			Message: fmt.Sprintf("No boot filename received: %s offered an address but no boot file, and no proxyDHCP server answered", strings.Join(addrServers, ", ")),
			Fix: "Run bootwright in proxy mode (the default, `bootwright serve`) on this network beside the DHCP server, " +
				"or give PXE clients next-server and a boot file name on that DHCP server."})
	}
	if len(bootServers) > 1 {
		out = append(out, Finding{Severity: Warning, Step: 1,
			Message: fmt.Sprintf("%d servers offer boot files: %s; a machine boots from whichever answers first", len(bootServers), strings.Join(bootServers, ", ")),
			Fix:     "Keep one boot server per network: remove the boot options (next-server, filename, PXE options) from the others."})
	}
	if len(addrServers) > 1 {
		out = append(out, Finding{Severity: Warning, Step: 1,
			Message: fmt.Sprintf("%d DHCP servers hand out addresses: %s", len(addrServers), strings.Join(addrServers, ", ")),
			Fix:     "Run one DHCP server per network (bootwright --dhcp-mode proxy beside an existing one)."})
	}
	return out
}

// offerWarnings are the problems of one offer a ROM may still get past.
// The chosen boot offer's missing next-server is left to step 3.
func offerWarnings(o Offer, chosen bool) []Finding {
	var out []Finding
	if o.Proxy() && !o.PXE() {
		out = append(out, Finding{Severity: Warning, Step: 1,
			Message: fmt.Sprintf("%s sent a reply without an address and without option 60 PXEClient; PXE ROMs ignore it", o.ServerID),
			Fix:     "A proxyDHCP server must send option 60 \"PXEClient\" (PXE 2.1 section 2.2.3)."})
	}
	if !chosen && o.HasBoot() && !IsURL(o.BootName()) && !nextServer(o).IsValid() {
		out = append(out, Finding{Severity: Warning, Step: 1,
			Message: fmt.Sprintf("the offer from %s has no next-server (siaddr 0.0.0.0, no option 66 address)", o.ServerID),
			Fix:     "Set next-server to the TFTP server's address on that DHCP server (ISC dhcpd: next-server; dnsmasq: the third field of dhcp-boot; Kea: next-server)."})
	}
	if o.File == "" && o.BootFile != "" && !IsURL(o.BootFile) {
		out = append(out, Finding{Severity: Warning, Step: 1,
			Message: fmt.Sprintf("%s names the boot file only in option 67; older BIOS PXE ROMs read only the BOOTP file field", o.ServerID),
			Fix:     "Set the boot file name as the BOOTP file field too (dnsmasq: dhcp-boot; ISC dhcpd: filename)."})
	}
	return out
}

// diagnoseRequest covers step 2: the DHCPREQUEST and the port 4011 exchange.
func diagnoseRequest(f Facts, c Choice) []Finding {
	var out []Finding
	if c.Address >= 0 && !f.Request.Answered("ACK") {
		server := f.Offers[c.Address].ServerID
		msg := fmt.Sprintf("the DHCP server %s did not acknowledge the DHCPREQUEST", server)
		if f.Request != nil && f.Request.Reply != nil {
			msg = fmt.Sprintf("the DHCP server %s answered the DHCPREQUEST with %s", server, f.Request.Reply.Type)
		}
		out = append(out, Finding{Severity: Error, Step: 2, Message: msg,
			Fix: "The server offered an address it will not confirm: check its log; another DHCP server on the network or a full address pool are the usual causes."})
	}
	if c.CheckBootServer && f.BootServer != nil && !f.BootServer.Answered("ACK") {
		proxy := f.Offers[c.Boot].ServerID
		msg := fmt.Sprintf("proxyDHCP service did not reply to request on port 4011 (%s:4011)", proxy)
		if !c.NeedsBootServer {
			msg += "; ROMs that honour the offer's discovery control boot anyway, firmware that always asks the boot server stops here"
		}
		out = append(out, Finding{Severity: Error, Code: E55, Step: 2, Message: msg,
			Fix: fmt.Sprintf("Let UDP port 4011 through to %s (e.g. nft add rule inet filter input udp dport 4011 accept) "+
				"and check that its proxyDHCP listens there (bootwright: --pxe-addr, default :4011).", proxy)})
	}
	if f.BootServer.Answered("ACK") && !f.BootServer.Reply.HasBoot() && c.NeedsBootServer {
		out = append(out, Finding{Severity: Error, Code: E53, Step: 2,
			Message: "the PXE boot server's ACK on port 4011 names no boot file",
			Fix:     "Configure a boot file for this client's architecture on the proxyDHCP server."})
	}
	return out
}

// diagnoseNBP covers step 3: fetching the boot file.
func diagnoseNBP(f Facts, c Choice) []Finding {
	t, ok := BootTarget(f, c)
	if !ok {
		return nil
	}
	var out []Finding
	if IsURL(t.File) {
		out = append(out, Finding{Severity: Error, Step: 3,
			Message: fmt.Sprintf("PXE firmware is given the URL %s; only iPXE and UEFI HTTP Boot clients can fetch http://", t.File),
			Fix:     "Give PXEClient firmware a TFTP file name (an iPXE NBP such as undionly.kpxe or snponly.efi) and the URL only to clients with user class iPXE."})
	} else if !t.Server.IsValid() || t.Fallback {
		out = append(out, Finding{Severity: Error, Code: E32, Step: 3,
			Message: fmt.Sprintf("the boot offer names %s but no TFTP server (siaddr 0.0.0.0, no option 66): a ROM has nowhere to fetch it from", t.File),
			Fix:     "Set next-server (siaddr) to the TFTP server's address on the server that offers the boot file."})
	}
	n := f.NBP
	if n == nil {
		return out
	}
	return append(out, fetchFindings(n, 3, t)...)
}

// fetchFindings maps a failed or odd boot file download to findings.
func fetchFindings(n *Fetch, step int, t Target) []Finding {
	switch {
	case n.Timeout && n.Status == 0 && !IsURL(n.URL):
		return []Finding{{Severity: Error, Code: E32, Step: step,
			Message: fmt.Sprintf("TFTP open timeout: nothing answered the read request for %s", n.URL),
			Fix: fmt.Sprintf("Start a TFTP server on %s (bootwright serves :69 unless --tftp-addr off), let UDP 69 and the transfer's "+
				"ephemeral ports through its firewall, and check that next-server points at it.", t.Server)}}
	case n.TFTPCode == 1:
		return []Finding{{Severity: Error, Code: E3B, Step: step,
			Message: fmt.Sprintf("TFTP Error - File not found: %s (%s)", n.URL, n.TFTPMsg),
			Fix:     "Put the file in the TFTP root (bootwright: --tftp-root, or one of its embedded NBP names) or fix the boot file name in the offer."}}
	case n.TFTPCode == 2:
		return []Finding{{Severity: Error, Code: E3B, Step: step,
			Message: fmt.Sprintf("TFTP Error - Access violation: %s (%s)", n.URL, n.TFTPMsg),
			Fix:     "Make the file readable by the TFTP server's user and name it relative to the TFTP root, without '..'."}}
	case n.TFTPMsg != "":
		return []Finding{{Severity: Error, Code: E3B, Step: step,
			Message: fmt.Sprintf("TFTP Error %d: %s (%s)", n.TFTPCode, n.URL, n.TFTPMsg),
			Fix:     "See the TFTP server's log for why it refused the transfer."}}
	case n.Err != "":
		return []Finding{{Severity: Error, Step: step,
			Message: fmt.Sprintf("could not fetch %s: %s", n.URL, n.Err),
			Fix:     "Check that the server is reachable from this network and serves that path."}}
	case n.Size == 0:
		return []Finding{{Severity: Error, Step: step, Message: fmt.Sprintf("%s is empty", n.URL), Fix: "Replace it with a real boot program."}}
	case n.TSize >= 0 && n.TSize != n.Size:
		return []Finding{{Severity: Warning, Step: step,
			Message: fmt.Sprintf("%s: the server announced tsize %d but sent %d bytes", n.URL, n.TSize, n.Size)}}
	case n.TSize < 0 && !IsURL(n.URL):
		return []Finding{{Severity: Warning, Step: step,
			Message: fmt.Sprintf("the TFTP server did not answer the tsize option for %s; some ROMs need it", n.URL),
			Fix:     "Use a TFTP server that supports RFC 2349 options (tftpd-hpa, atftpd, dnsmasq, bootwright)."}}
	}
	return nil
}

// success summarises a boot that would work.
func success(f Facts, c Choice) Finding {
	msg := fmt.Sprintf("a PXE client (%s) on %s would boot", f.Arch, f.Interface)
	if c.Address >= 0 {
		msg += fmt.Sprintf(": address from %s", f.Offers[c.Address].ServerID)
	}
	if t, ok := BootTarget(f, c); ok && f.NBP.OK() {
		msg += fmt.Sprintf(", %s (%d bytes in %s)", t.URL(), f.NBP.Size, f.NBP.Elapsed.Round(time.Millisecond))
	}
	if f.Menu.OK() {
		msg += ", then its iPXE menu"
	} else if f.Script.OK() {
		msg += ", then " + f.Script.URL
	}
	return Finding{Severity: Info, Step: 5, Message: msg}
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
