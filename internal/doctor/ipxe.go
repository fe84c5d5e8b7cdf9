package doctor

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/bootwright/bootwright/internal/hw"
)

// parseScript reports whether body is an iPXE script (it starts with
// "#!ipxe", as iPXE requires) and the target of its first chain command
// as written, settings such as ${mac:hexhyp} unexpanded.
func parseScript(body string) (ipxe bool, chain string) {
	if !strings.HasPrefix(body, "#!ipxe") {
		return false, ""
	}
	for line := range strings.Lines(body) {
		fields := strings.Fields(line)
		if len(fields) == 0 || (fields[0] != "chain" && fields[0] != "imgexec") {
			continue
		}
		for i := 1; i < len(fields); i++ {
			switch a := fields[i]; {
			case a == "--name" || a == "-n" || a == "--timeout" || a == "-t":
				i++ // the option's value
			case !strings.HasPrefix(a, "-"):
				return true, a
			}
		}
	}
	return true, ""
}

var setting = regexp.MustCompile(`\$\{([^}]*)\}`)

// expandChain fills in the iPXE settings a bootwright script uses, as
// iPXE on this client would, and resolves the result against the URL of
// the script it came from. It fails on a setting it does not know.
func expandChain(chain, base string, mac net.HardwareAddr, a hw.Arch) (string, error) {
	buildarch, platform := a.IPXE()
	hexhyp := hw.MAC(mac).URL()
	values := map[string]string{
		"mac": mac.String(), "mac:hexhyp": hexhyp, "mac:hex": mac.String(),
		"net0/mac": mac.String(), "net0/mac:hexhyp": hexhyp, "net0/mac:hex": mac.String(),
		"buildarch": buildarch, "platform": platform,
	}
	var unknown []string
	out := setting.ReplaceAllStringFunc(chain, func(m string) string {
		name := m[2 : len(m)-1]
		if v, ok := values[name]; ok {
			return v
		}
		unknown = append(unknown, m)
		return m
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("chain target %s uses settings doctor cannot fill in: %s", chain, strings.Join(unknown, " "))
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("script url %q: %w", base, err)
	}
	ref, err := url.Parse(out)
	if err != nil {
		return "", fmt.Errorf("chain target %q: %w", out, err)
	}
	return b.ResolveReference(ref).String(), nil
}

// looksLikeIPXE reports whether a boot file name is an iPXE build, which
// will DHCP again and needs the iPXE stage to work.
func looksLikeIPXE(file string) bool {
	f := strings.ToLower(file)
	return strings.Contains(f, "ipxe") || strings.Contains(f, "undionly") || strings.Contains(f, "snponly") || strings.HasSuffix(f, ".kpxe")
}

// diagnoseIPXE covers step 4: what a client running iPXE is told and
// fetches.
func diagnoseIPXE(f Facts, c Choice) []Finding {
	if !f.IPXESent {
		return nil
	}
	t, _ := BootTarget(f, c)
	ic := Choose(f.IPXEOffers)
	if ic.Boot < 0 {
		if !looksLikeIPXE(t.File) {
			return []Finding{{Severity: Info, Step: 4, Message: "no server gives iPXE clients a boot file; the NBP does not look like iPXE, so that may not matter"}}
		}
		return []Finding{{Severity: Error, Step: 4,
			Message: fmt.Sprintf("%s is iPXE, but no server gives a client running iPXE (user class iPXE) a boot file: it stops after its own DHCP", t.File),
			Fix:     "Give clients with user class iPXE (or option 175) an http:// script URL, as bootwright does (dnsmasq: dhcp-userclass=set:ipxe,iPXE and dhcp-boot=tag:ipxe,http://SERVER:8080/boot.ipxe)."}}
	}
	file := f.IPXEOffers[ic.Boot].BootName()
	if t.File != "" && file == t.File && !IsURL(file) {
		return []Finding{{Severity: Error, Step: 4,
			Message: fmt.Sprintf("iPXE clients are given the NBP %s again (iPXE loop): the machine loads iPXE over and over", file),
			Fix:     "Hand clients with user class iPXE (or option 175) a script URL instead of the NBP; bootwright does this in both modes, so look for a second server answering."}}
	}
	if !IsURL(file) {
		return []Finding{{Severity: Info, Step: 4, Message: fmt.Sprintf("iPXE clients are told %s, not an http:// URL; doctor does not follow it", file)}}
	}
	out := scriptFindings(f.Script, "the script iPXE is told")
	if f.Script.OK() && f.Script.IPXE && f.Script.Chain != "" {
		out = append(out, scriptFindings(f.Menu, "the menu it chains to")...)
	}
	return out
}

// scriptFindings checks one iPXE script download.
func scriptFindings(s *Fetch, what string) []Finding {
	switch {
	case s == nil:
		return nil
	case !s.OK():
		return []Finding{{Severity: Error, Step: 4,
			Message: fmt.Sprintf("iPXE cannot fetch %s, %s: %s", what, s.URL, s.Err),
			Fix:     "Check that the HTTP server is reachable from clients (bootwright: --http-addr, --public-url, TCP 8080 in the firewall) and its log for the request."}}
	case !s.IPXE:
		return []Finding{{Severity: Error, Step: 4,
			Message: fmt.Sprintf("%s, %s, is not an iPXE script (it does not start with #!ipxe)", what, s.URL),
			Fix:     "Point the URL at an iPXE script; bootwright serves /boot.ipxe and /ipxe/MAC."}}
	}
	return nil
}
