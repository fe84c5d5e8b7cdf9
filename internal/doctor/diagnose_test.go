package doctor

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

// got is the part of a finding the table checks: severity, code and a
// phrase of the message.
type got struct {
	Severity Severity
	Code     string
	Phrase   string
}

// Facts pieces shared by the cases.
var (
	ack       = &Exchange{Reply: &Offer{Type: "ACK", ServerID: ip("10.0.0.1"), YourIP: ip("10.0.0.50")}}
	nbpOK     = &Fetch{URL: "tftp://10.0.0.1/undionly.kpxe", Size: 74213, TSize: 74213, Elapsed: 8 * time.Millisecond}
	ipxeOffer = with(fullOffer, func(o *Offer) {
		o.File, o.BootFile = "http://10.0.0.1:8080/boot.ipxe", "http://10.0.0.1:8080/boot.ipxe"
	})
	scriptOK = &Fetch{URL: "http://10.0.0.1:8080/boot.ipxe", Size: 244, TSize: 244, Status: 200, IPXE: true, Chain: "http://10.0.0.1:8080/ipxe/${mac:hexhyp}"}
	menuOK   = &Fetch{URL: "http://10.0.0.1:8080/ipxe/52-54-00-00-00-01", Size: 500, TSize: 500, Status: 200, IPXE: true}
)

// booting is a full-mode boot that works, changed by f.
func booting(f func(*Facts)) Facts {
	fs := Facts{Interface: "eth0", Arch: hw.ArchBIOS, Wait: 5 * time.Second,
		Offers: []Offer{fullOffer}, Request: ack, NBP: nbpOK,
		IPXESent: true, IPXEOffers: []Offer{ipxeOffer}, Script: scriptOK, Menu: menuOK}
	if f != nil {
		f(&fs)
	}
	return fs
}

// proxied is an address from the LAN and the boot file from bootwright's
// proxy, which answered on 4011, changed by f.
func proxied(f func(*Facts)) Facts {
	return booting(func(fs *Facts) {
		fs.Offers = []Offer{lanOffer, proxyOffer}
		fs.BootServer = &Exchange{Reply: &bootACK}
		fs.NBP = &Fetch{URL: "tftp://10.0.0.2/snponly.efi", Size: 173792, TSize: 173792}
		fs.IPXEOffers = []Offer{lanOffer, with(proxyOffer, func(o *Offer) { o.File = "http://10.0.0.2:8080/boot.ipxe" })}
		if f != nil {
			f(fs)
		}
	})
}

func TestDiagnose(t *testing.T) {
	success := got{Info, "", "would boot"}
	tests := map[string]struct {
		facts Facts
		want  []got
	}{
		"full mode boots":  {booting(nil), []got{success}},
		"proxy boots":      {proxied(nil), []got{success}},
		"nothing answers":  {Facts{Interface: "eth0", Wait: 5 * time.Second}, []got{{Error, E51, "No DHCP or proxyDHCP offers"}}},
		"only a proxy":     {Facts{Offers: []Offer{proxyOffer}}, []got{{Error, E52, "no DHCP offers"}}},
		"no boot filename": {Facts{Offers: []Offer{lanOffer}, Request: ack}, []got{{Error, E53, "10.0.0.1 offered an address but no boot file"}}},
		"4011 dropped": {proxied(func(f *Facts) { f.BootServer = &Exchange{Wait: 5 * time.Second} }),
			[]got{{Error, E55, "firmware that always asks the boot server stops here"}}},
		"4011 dropped, file only there": {Facts{Offers: []Offer{lanOffer, bareProxy}, Request: ack, BootServer: &Exchange{}},
			[]got{{Error, E55, "did not reply to request on port 4011 (10.0.0.3:4011)"}}},
		"4011 ACK without file": {Facts{Offers: []Offer{lanOffer, bareProxy}, Request: ack, BootServer: &Exchange{Reply: &Offer{Type: "ACK", ServerID: ip("10.0.0.3")}}},
			[]got{{Error, E53, "ACK on port 4011 names no boot file"}}},
		"tftp silent": {booting(func(f *Facts) { f.NBP = &Fetch{URL: nbpOK.URL, TSize: -1, Err: "timeout", Timeout: true} }),
			[]got{{Error, E32, "TFTP open timeout"}}},
		"file not found": {booting(func(f *Facts) {
			f.NBP = &Fetch{URL: nbpOK.URL, TSize: -1, Err: "x", TFTPCode: 1, TFTPMsg: "no such file"}
		}),
			[]got{{Error, E3B, "File not found"}}},
		"access violation": {booting(func(f *Facts) { f.NBP = &Fetch{URL: nbpOK.URL, TSize: -1, Err: "x", TFTPCode: 2, TFTPMsg: "denied"} }),
			[]got{{Error, E3B, "Access violation"}}},
		"other tftp error": {booting(func(f *Facts) {
			f.NBP = &Fetch{URL: nbpOK.URL, TSize: -1, Err: "x", TFTPCode: 8, TFTPMsg: "bad option"}
		}),
			[]got{{Error, E3B, "TFTP Error 8"}}},
		"no next-server": {booting(func(f *Facts) { f.Offers = []Offer{with(fullOffer, func(o *Offer) { o.NextServer = netip.Addr{} })} }),
			[]got{{Error, E32, "no TFTP server"}}},
		"request NAKed": {booting(func(f *Facts) { f.Request = &Exchange{Reply: &Offer{Type: "NAK", ServerID: ip("10.0.0.1")}} }),
			[]got{{Error, "", "answered the DHCPREQUEST with NAK"}}},
		"request unanswered": {booting(func(f *Facts) { f.Request = &Exchange{} }),
			[]got{{Error, "", "did not acknowledge the DHCPREQUEST"}}},
		"two boot servers": {booting(func(f *Facts) { f.Offers = []Offer{fullOffer, proxyOffer} }),
			[]got{{Warning, "", "2 servers offer boot files: 10.0.0.1 (undionly.kpxe), 10.0.0.2 (snponly.efi)"}, success}},
		"two address servers": {booting(func(f *Facts) {
			f.Offers = []Offer{fullOffer, with(lanOffer, func(o *Offer) { o.ServerID = ip("10.0.0.7") })}
		}),
			[]got{{Warning, "", "2 DHCP servers hand out addresses"}, success}},
		"other offer lacks next-server": {booting(func(f *Facts) {
			f.Offers = []Offer{fullOffer, with(plainBoot, func(o *Offer) { o.NextServer = netip.Addr{} })}
		}), []got{{Warning, "", "the offer from 10.0.0.4 has no next-server"}, {Warning, "", "2 servers offer"}, {Warning, "", "2 DHCP servers"}, success}},
		"proxy reply without PXEClient": {booting(func(f *Facts) { f.Offers = []Offer{fullOffer, with(bareProxy, func(o *Offer) { o.VendorClass = "" })} }),
			[]got{{Warning, "", "PXE ROMs ignore it"}, success}},
		"option 67 only": {booting(func(f *Facts) { f.Offers = []Offer{with(fullOffer, func(o *Offer) { o.File = "" })} }),
			[]got{{Warning, "", "only in option 67"}, success}},
		"no tsize": {booting(func(f *Facts) { f.NBP = &Fetch{URL: nbpOK.URL, Size: 10, TSize: -1} }),
			[]got{{Warning, "", "did not answer the tsize option"}, success}},
		"empty nbp": {booting(func(f *Facts) { f.NBP = &Fetch{URL: nbpOK.URL, TSize: 0} }),
			[]got{{Error, "", "is empty"}}},
		"url for firmware": {booting(func(f *Facts) {
			f.Offers = []Offer{ipxeOffer}
			f.NBP = &Fetch{URL: ipxeOffer.File, Size: 244, TSize: 244, Status: 200, IPXE: true}
		}), []got{{Error, "", "PXE firmware is given the URL"}}},
		"ipxe loop": {booting(func(f *Facts) { f.IPXEOffers = []Offer{fullOffer}; f.Script, f.Menu = nil, nil }),
			[]got{{Error, "", "iPXE loop"}}},
		"ipxe gets nothing": {booting(func(f *Facts) { f.IPXEOffers = []Offer{lanOffer}; f.Script, f.Menu = nil, nil }),
			[]got{{Error, "", "undionly.kpxe is iPXE, but no server gives a client running iPXE"}}},
		"ipxe gets nothing, nbp not ipxe": {booting(func(f *Facts) {
			f.Offers = []Offer{with(fullOffer, func(o *Offer) { o.File, o.BootFile = "pxelinux.0", "pxelinux.0" })}
			f.IPXEOffers, f.Script, f.Menu = []Offer{lanOffer}, nil, nil
		}), []got{{Info, "", "may not matter"}, success}},
		"ipxe told a tftp file": {booting(func(f *Facts) {
			f.IPXEOffers = []Offer{with(fullOffer, func(o *Offer) { o.File = "menu.ipxe" })}
			f.Script, f.Menu = nil, nil
		}), []got{{Info, "", "not an http:// URL"}, success}},
		"script unreachable": {booting(func(f *Facts) { f.Script = &Fetch{URL: scriptOK.URL, Err: "connection refused"}; f.Menu = nil }),
			[]got{{Error, "", "iPXE cannot fetch the script iPXE is told"}}},
		"script is html": {booting(func(f *Facts) { f.Script = &Fetch{URL: scriptOK.URL, Size: 10, Status: 200}; f.Menu = nil }),
			[]got{{Error, "", "is not an iPXE script"}}},
		"menu fails": {booting(func(f *Facts) { f.Menu = &Fetch{URL: menuOK.URL, Err: "HTTP 500 Internal Server Error", Status: 500} }),
			[]got{{Error, "", "iPXE cannot fetch the menu it chains to"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fs := Diagnose(tc.facts)
			var gotten []got
			for i, f := range fs {
				g := got{f.Severity, f.Code, ""}
				if i < len(tc.want) && strings.Contains(f.Message, tc.want[i].Phrase) {
					g.Phrase = tc.want[i].Phrase
				} else {
					g.Phrase = f.Message
				}
				gotten = append(gotten, g)
				if f.Severity > Info && f.Fix == "" && f.Code != "" {
					t.Errorf("finding %q has a code but no fix", f.Message)
				}
			}
			if diff := cmp.Diff(tc.want, gotten); diff != "" {
				t.Errorf("Diagnose (-want +got):\n%s", diff)
			}
			wantOK := true
			for _, w := range tc.want {
				wantOK = wantOK && w.Severity != Error
			}
			if OK(fs) != wantOK {
				t.Errorf("OK = %v, want %v", OK(fs), wantOK)
			}
		})
	}
}
