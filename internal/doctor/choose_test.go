package doctor

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// Offers as the servers in the tests send them.
var (
	// lanOffer is dnsmasq with only a dhcp-range: an address, no boot file.
	lanOffer = Offer{Type: "OFFER", ServerID: ip("10.0.0.1"), Source: netip.MustParseAddrPort("10.0.0.1:67"), Arrived: 3 * time.Second, YourIP: ip("10.0.0.50"), Mask: 24, NextServer: ip("10.0.0.1"), Discovery: -1}
	// fullOffer is bootwright in full mode: address and boot file.
	fullOffer = Offer{Type: "OFFER", ServerID: ip("10.0.0.1"), Source: netip.MustParseAddrPort("10.0.0.1:67"), Arrived: time.Millisecond, YourIP: ip("10.0.0.100"), Mask: 24, NextServer: ip("10.0.0.1"),
		File: "undionly.kpxe", BootFile: "undionly.kpxe", VendorClass: "PXEClient", Option43: []byte{6, 1, 8, 255}, Discovery: 8, GUIDEchoed: true}
	// proxyOffer is bootwright in proxy mode.
	proxyOffer = Offer{Type: "OFFER", ServerID: ip("10.0.0.2"), Source: netip.MustParseAddrPort("10.0.0.2:67"), Arrived: time.Millisecond, NextServer: ip("10.0.0.2"),
		File: "snponly.efi", BootFile: "snponly.efi", VendorClass: "PXEClient", Option43: []byte{6, 1, 8, 255}, Discovery: 8, GUIDEchoed: true}
	// bareProxy is a proxyDHCP offer that leaves everything to port 4011.
	bareProxy = Offer{Type: "OFFER", ServerID: ip("10.0.0.3"), NextServer: ip("10.0.0.3"), VendorClass: "PXEClient", Discovery: -1}
	// plainBoot is a BOOTP-style offer: address and file, no PXE extensions.
	plainBoot = Offer{Type: "OFFER", ServerID: ip("10.0.0.4"), YourIP: ip("10.0.0.60"), NextServer: ip("10.0.0.4"), File: "pxelinux.0", Discovery: -1}
	// bootACK is a port 4011 ACK.
	bootACK = Offer{Type: "ACK", ServerID: ip("10.0.0.2"), NextServer: ip("10.0.0.2"), File: "snponly.efi", VendorClass: "PXEClient", Discovery: 8}
)

func with(o Offer, f func(*Offer)) Offer {
	f(&o)
	return o
}

func TestChoose(t *testing.T) {
	tests := map[string]struct {
		offers []Offer
		want   Choice
	}{
		"nothing":                      {nil, Choice{Address: -1, Boot: -1}},
		"address only":                 {[]Offer{lanOffer}, Choice{Address: 0, Boot: -1}},
		"full mode":                    {[]Offer{fullOffer}, Choice{Address: 0, Boot: 0}},
		"proxy beside lan":             {[]Offer{proxyOffer, lanOffer}, Choice{Address: 1, Boot: 0, CheckBootServer: true}},
		"proxy leaving it to 4011":     {[]Offer{lanOffer, bareProxy}, Choice{Address: 0, Boot: 1, CheckBootServer: true, NeedsBootServer: true}},
		"proxy file without bit 3":     {[]Offer{lanOffer, with(proxyOffer, func(o *Offer) { o.Discovery = 3 })}, Choice{Address: 0, Boot: 1, CheckBootServer: true, NeedsBootServer: true}},
		"proxy only":                   {[]Offer{proxyOffer}, Choice{Address: -1, Boot: 0, CheckBootServer: true}},
		"pxe address offer wins":       {[]Offer{proxyOffer, fullOffer}, Choice{Address: 1, Boot: 1}},
		"proxy beats bootp file":       {[]Offer{plainBoot, proxyOffer}, Choice{Address: 0, Boot: 1, CheckBootServer: true}},
		"bootp file alone":             {[]Offer{lanOffer, plainBoot}, Choice{Address: 1, Boot: 1}},
		"first of equals":              {[]Offer{fullOffer, with(fullOffer, func(o *Offer) { o.ServerID = ip("10.0.0.9") })}, Choice{Address: 0, Boot: 0}},
		"naks and acks are not offers": {[]Offer{with(fullOffer, func(o *Offer) { o.Type = "NAK" })}, Choice{Address: -1, Boot: -1}},
		"proxy without PXEClient ignored": {[]Offer{lanOffer, with(proxyOffer, func(o *Offer) { o.VendorClass = "" })},
			Choice{Address: 0, Boot: -1}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Choose(tc.offers)); diff != "" {
				t.Errorf("Choose (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBootTarget(t *testing.T) {
	tests := map[string]struct {
		facts  Facts
		want   Target
		wantOK bool
		url    string
	}{
		"full mode": {Facts{Offers: []Offer{fullOffer}},
			Target{Server: ip("10.0.0.1"), File: "undionly.kpxe"}, true, "tftp://10.0.0.1/undionly.kpxe"},
		"proxy, 4011 silent": {Facts{Offers: []Offer{lanOffer, proxyOffer}, BootServer: &Exchange{}},
			Target{Server: ip("10.0.0.2"), File: "snponly.efi"}, true, "tftp://10.0.0.2/snponly.efi"},
		"4011 ACK wins": {Facts{Offers: []Offer{lanOffer, proxyOffer}, BootServer: &Exchange{Reply: ptr(with(bootACK, func(o *Offer) { o.File = "ipxe.efi" }))}},
			Target{Server: ip("10.0.0.2"), File: "ipxe.efi", FromBootServer: true}, true, "tftp://10.0.0.2/ipxe.efi"},
		"bare proxy, 4011 silent": {Facts{Offers: []Offer{lanOffer, bareProxy}, BootServer: &Exchange{}}, Target{}, false, ""},
		"option 66 address": {Facts{Offers: []Offer{with(fullOffer, func(o *Offer) { o.NextServer = netip.Addr{}; o.TFTPServer = "10.0.0.9" })}},
			Target{Server: ip("10.0.0.9"), File: "undionly.kpxe"}, true, "tftp://10.0.0.9/undionly.kpxe"},
		"option 66 name falls back": {Facts{Offers: []Offer{with(fullOffer, func(o *Offer) { o.NextServer = netip.Addr{}; o.TFTPServer = "tftp.lan" })}},
			Target{Server: ip("10.0.0.1"), File: "undionly.kpxe", Fallback: true}, true, "tftp://10.0.0.1/undionly.kpxe"},
		"url": {Facts{Offers: []Offer{with(fullOffer, func(o *Offer) { o.File = "http://10.0.0.1:8080/boot.ipxe" })}},
			Target{Server: ip("10.0.0.1"), File: "http://10.0.0.1:8080/boot.ipxe"}, true, "http://10.0.0.1:8080/boot.ipxe"},
		"no boot offer": {Facts{Offers: []Offer{lanOffer}}, Target{}, false, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := BootTarget(tc.facts, Choose(tc.facts.Offers))
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("BootTarget (-want +got):\n%s", diff)
			}
			if ok && got.URL() != tc.url {
				t.Errorf("URL() = %q, want %q", got.URL(), tc.url)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
