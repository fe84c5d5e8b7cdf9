package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Report is a doctor run: what was observed, what a ROM would choose,
// and the diagnosis. It is what `bootwright doctor --json` prints.
type Report struct {
	Facts    Facts     `json:"facts"`
	Choice   Choice    `json:"choice"`
	Target   *Target   `json:"boot_target,omitempty"`
	Findings []Finding `json:"findings"`
	OK       bool      `json:"ok"` // a machine would boot
}

// NewReport diagnoses f.
func NewReport(f Facts) Report {
	r := Report{Facts: f, Choice: Choose(f.Offers), Findings: Diagnose(f)}
	if t, ok := BootTarget(f, r.Choice); ok {
		r.Target = &t
	}
	r.OK = OK(r.Findings)
	return r
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// Marks at the start of report lines.
const (
	markOK   = "✓"
	markFail = "✗"
	markWarn = "!"
	markSkip = "·"
)

// WriteText writes the report for a person: one section per step, each
// line marked ✓ (fine), ✗ (fails), ! (warning) or · (skipped, info),
// then the diagnosis with fixes.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	f := r.Facts
	fmt.Fprintf(&b, "bootwright doctor: %s PXE client on %s, MAC %s, waiting %s for replies\n", f.Arch, f.Interface, f.MAC, f.Wait)
	r.textOffers(&b)
	r.textROM(&b)
	r.textNBP(&b)
	r.textIPXE(&b)
	b.WriteString("\n5. Diagnosis\n")
	for _, fd := range r.Findings {
		mark := map[Severity]string{Info: markOK, Warning: markWarn, Error: markFail}[fd.Severity]
		if fd.Severity == Info && fd.Step != 5 {
			mark = markSkip
		}
		line := fd.Message
		if fd.Code != "" {
			line = fd.Code + ": " + line
		}
		fmt.Fprintf(&b, "  %s %s\n", mark, line)
		if fd.Fix != "" {
			fmt.Fprintf(&b, "      fix: %s\n", fd.Fix)
		}
	}
	if r.OK {
		b.WriteString("\nresult: a machine would boot (exit 0)\n")
	} else {
		b.WriteString("\nresult: a machine would NOT boot (exit 1)\n")
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func (r Report) textOffers(b *strings.Builder) {
	b.WriteString("\n1. DHCP offers to a PXE DHCPDISCOVER\n")
	if len(r.Facts.Offers) == 0 {
		fmt.Fprintf(b, "  %s no DHCP server answered within %s\n", markFail, r.Facts.Wait)
	}
	for _, o := range r.Facts.Offers {
		mark := markOK
		if !o.HasBoot() {
			mark = markSkip
		}
		fmt.Fprintf(b, "  %s %s\n", mark, describeOffer(o))
	}
}

// describeOffer is one offer on one line.
func describeOffer(o Offer) string {
	kind := "DHCP"
	addr := o.YourIP.String()
	if o.Mask > 0 {
		addr += fmt.Sprintf("/%d", o.Mask)
	}
	if o.Proxy() {
		kind, addr = "proxyDHCP", "no address"
	}
	from := o.ServerID.String()
	if o.Source.IsValid() && o.Source.Addr() != o.ServerID {
		from += " via " + o.Source.String()
	}
	parts := []string{fmt.Sprintf("%s %s from %s after %s: %s", kind, o.Type, from, o.Arrived.Round(time.Millisecond), addr)}
	if o.NextServer.IsValid() {
		parts = append(parts, "next-server "+o.NextServer.String())
	} else {
		parts = append(parts, "no next-server")
	}
	if o.TFTPServer != "" {
		parts = append(parts, "option 66 "+o.TFTPServer)
	}
	switch {
	case o.File != "" && o.BootFile != "" && o.File != o.BootFile:
		parts = append(parts, fmt.Sprintf("file %q, option 67 %q", o.File, o.BootFile))
	case o.BootName() != "":
		parts = append(parts, fmt.Sprintf("boot file %q", o.BootName()))
	default:
		parts = append(parts, "no boot file")
	}
	if o.VendorClass != "" {
		parts = append(parts, "option 60 "+o.VendorClass)
	}
	if o.Discovery >= 0 {
		parts = append(parts, fmt.Sprintf("discovery control %d", o.Discovery))
	} else if len(o.Option43) > 0 {
		parts = append(parts, fmt.Sprintf("option 43 %x", o.Option43))
	}
	if o.GUIDEchoed {
		parts = append(parts, "option 97 echoed")
	}
	return strings.Join(parts, ", ")
}

func (r Report) textROM(b *strings.Builder) {
	f, c := r.Facts, r.Choice
	b.WriteString("\n2. What a PXE ROM does with them\n")
	switch {
	case c.Boot < 0 && c.Address < 0:
		fmt.Fprintf(b, "  %s nothing to choose from\n", markFail)
		return
	case c.Boot < 0:
		fmt.Fprintf(b, "  %s address from %s, but no offer names a boot file\n", markFail, f.Offers[c.Address].ServerID)
	case c.Address < 0:
		fmt.Fprintf(b, "  %s boot file from %s, but no offer gives an address\n", markFail, f.Offers[c.Boot].ServerID)
	case c.Address == c.Boot:
		fmt.Fprintf(b, "  %s address and boot file from %s\n", markOK, f.Offers[c.Address].ServerID)
	default:
		fmt.Fprintf(b, "  %s address from %s, boot file from the proxyDHCP %s\n", markOK, f.Offers[c.Address].ServerID, f.Offers[c.Boot].ServerID)
	}
	if e := f.Request; e != nil {
		fmt.Fprintf(b, "  %s DHCPREQUEST for %s: %s\n", markFor(e.Answered("ACK")), f.Offers[c.Address].YourIP, describeExchange(e))
	}
	if f.Assigned != "" {
		fmt.Fprintf(b, "  %s put %s on %s for the next steps (removed at the end)\n", markSkip, f.Assigned, f.Interface)
	}
	switch {
	case f.BootServer != nil:
		why := "the offer leaves the boot file to it"
		if !c.NeedsBootServer {
			why = "PXE 2.1 boot server check; this offer's discovery control lets ROMs skip it"
		}
		fmt.Fprintf(b, "  %s PXE boot server %s (%s): %s\n", markFor(f.BootServer.Answered("ACK")), f.BootServer.To, why, describeExchange(f.BootServer))
	case c.Boot >= 0:
		fmt.Fprintf(b, "  %s port 4011: not needed (the boot offer is not a proxyDHCP offer)\n", markSkip)
	}
}

func describeExchange(e *Exchange) string {
	switch {
	case e.Err != "":
		return e.Err
	case e.Reply == nil:
		return fmt.Sprintf("no reply within %s", e.Wait)
	}
	s := fmt.Sprintf("%s from %s after %s", e.Reply.Type, e.Reply.ServerID, e.Reply.Arrived.Round(time.Millisecond))
	if e.Reply.HasBoot() {
		s += fmt.Sprintf(", boot file %q", e.Reply.BootName())
	}
	return s
}

func (r Report) textNBP(b *strings.Builder) {
	b.WriteString("\n3. Boot file\n")
	n := r.Facts.NBP
	switch {
	case r.Target == nil:
		fmt.Fprintf(b, "  %s no boot file to fetch\n", markSkip)
	case n == nil:
		fmt.Fprintf(b, "  %s %s: no server to fetch it from\n", markFail, r.Target.File)
	default:
		fmt.Fprintf(b, "  %s %s\n", markFor(n.OK() && n.Size > 0), describeFetch(n))
	}
}

func describeFetch(n *Fetch) string {
	switch {
	case n.TFTPMsg != "":
		return fmt.Sprintf("%s: TFTP error %d %q (after %s)", n.URL, n.TFTPCode, n.TFTPMsg, n.Elapsed.Round(time.Millisecond))
	case !n.OK():
		return fmt.Sprintf("%s: %s (after %s)", n.URL, n.Err, n.Elapsed.Round(time.Millisecond))
	}
	s := fmt.Sprintf("%s: %d bytes in %s", n.URL, n.Size, n.Elapsed.Round(time.Millisecond))
	if n.TSize >= 0 && strings.HasPrefix(n.URL, "tftp://") {
		s += fmt.Sprintf(" (tsize %d)", n.TSize)
	}
	if n.IPXE {
		s += ", an iPXE script"
		if n.Chain != "" {
			s += " chaining to " + n.Chain
		}
	}
	return s
}

func (r Report) textIPXE(b *strings.Builder) {
	f := r.Facts
	b.WriteString("\n4. iPXE (a DHCPDISCOVER with user class iPXE)\n")
	if !f.IPXESent {
		fmt.Fprintf(b, "  %s skipped: nobody answered the PXE DHCPDISCOVER\n", markSkip)
		return
	}
	ic := Choose(f.IPXEOffers)
	if ic.Boot < 0 {
		fmt.Fprintf(b, "  %s no server gives an iPXE client a boot file (%d replies, none with one)\n", markFail, len(f.IPXEOffers))
		return
	}
	o := f.IPXEOffers[ic.Boot]
	fmt.Fprintf(b, "  %s an iPXE client is told %q by %s\n", markFor(IsURL(o.BootName())), o.BootName(), o.ServerID)
	for _, s := range []*Fetch{f.Script, f.Menu} {
		if s != nil {
			fmt.Fprintf(b, "  %s %s\n", markFor(s.OK() && s.IPXE), describeFetch(s))
		}
	}
}

func markFor(ok bool) string {
	if ok {
		return markOK
	}
	return markFail
}
