package dhcpboot

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/bootwright/bootwright/internal/golden"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/permac"
)

// piHosts marks every MAC with a Raspberry Pi OUI as loader raspberrypi,
// as a group matching those prefixes does.
func piHosts(mac hw.MAC) Host {
	return Host{RaspberryPi: mac[0] == 0xdc && mac[1] == 0xa6 && mac[2] == 0x32}
}

// TestRaspberryPiReplies answers a Raspberry Pi 4's DISCOVER (built from
// public captures, testdata/requests/rpi4_discover.hex) and compares the
// reply with a golden file and with what dnsmasq sends the same request
// when set up as the Raspberry Pi documentation says
// (testdata/dnsmasq_rpi_*_offer.hex): the Pi's bootloader boots only from
// an offer whose option 43 holds "Raspberry Pi Boot".
func TestRaspberryPiReplies(t *testing.T) {
	disc := readHex(t, filepath.Join("testdata", "requests", "rpi4_discover.hex"))
	for name, tc := range map[string]struct {
		mode    Mode
		mt      dhcpv4.MessageType
		dnsmasq string
	}{
		"rpi_proxy_offer": {ModeProxy, dhcpv4.MessageTypeDiscover, "dnsmasq_rpi_proxy_offer.hex"},
		"rpi_full_offer":  {ModeFull, dhcpv4.MessageTypeDiscover, "dnsmasq_rpi_full_offer.hex"},
		"rpi_full_ack":    {ModeFull, dhcpv4.MessageTypeRequest, ""},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := dhcpv4.FromBytes(disc)
			if err != nil {
				t.Fatal(err)
			}
			if tc.mt == dhcpv4.MessageTypeRequest {
				// The Pi's REQUEST carries no option 60 (rpi-eeprom
				// issue 82), only the address and server it chose.
				req.UpdateOption(dhcpv4.OptMessageType(tc.mt))
				req.Options.Del(dhcpv4.OptionClassIdentifier)
				req.UpdateOption(dhcpv4.OptRequestedIPAddress([]byte{10, 231, 0, 100}))
				req.UpdateOption(dhcpv4.OptServerIdentifier(testSelf.AsSlice()))
			}
			s := &Server{Mode: tc.mode, Address: testSelf, Policy: testPolicy(), Subnets: testSubnets(), Hosts: piHosts}
			res := handleOne(t, s, req, false)
			if res.reply == nil {
				t.Fatalf("no reply: %s", res.why)
			}
			raw := res.reply.ToBytes()
			back, err := dhcpv4.FromBytes(raw)
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", name+".golden"), back.Summary()+"\n"+hexDump(raw))
			if tc.dnsmasq == "" {
				return
			}
			dm, err := dhcpv4.FromBytes(readHex(t, filepath.Join("testdata", tc.dnsmasq)))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []dhcpv4.OptionCode{dhcpv4.OptionVendorSpecificInformation, dhcpv4.OptionClassIdentifier, dhcpv4.OptionClientMachineIdentifier} {
				if got, want := back.Options.Get(o), dm.Options.Get(o); !bytes.Equal(got, want) {
					t.Errorf("option %v = %x, dnsmasq sends %x", o, got, want)
				}
			}
			if back.BootFileName != "" || back.Options.Has(dhcpv4.OptionBootfileName) {
				t.Errorf("boot file %q / option 67 %q: a Pi's offer names none", back.BootFileName, back.BootFileNameOption())
			}
			if got := back.TFTPServerName(); got != testSelf.String() || !back.ServerIPAddr.Equal(testSelf.AsSlice()) {
				t.Errorf("option 66 %q, siaddr %v: want this server, %v", got, back.ServerIPAddr, testSelf)
			}
		})
	}
}

// TestRaspberryPiDecide: only a machine set to loader raspberrypi gets
// the Pi's offer, and only for the Pi bootloader's PXE request.
func TestRaspberryPiDecide(t *testing.T) {
	pi := Host{RaspberryPi: true}
	tests := map[string]struct {
		c    Client
		h    Host
		want string
	}{
		"pi bootloader":     {Client{VendorClass: "PXEClient:Arch:00000:UNDI:002001", Arch: hw.ArchBIOS}, pi, "raspberrypi"},
		"not set to the pi": {Client{VendorClass: "PXEClient:Arch:00000:UNDI:002001", Arch: hw.ArchBIOS}, Host{}, "firmware-pxe undionly.kpxe"},
		"pi set, uefi":      {Client{VendorClass: "PXEClient:Arch:00011:UNDI:003000", Arch: hw.ArchEFIARM64}, pi, "firmware-pxe ipxe-arm64.efi"},
		"pi set, ipxe":      {Client{VendorClass: "PXEClient", Arch: hw.ArchBIOS, IPXE: true}, pi, "ipxe http://10.231.0.1:8080/boot.ipxe"},
		"pi set, not pxe":   {Client{Arch: hw.ArchBIOS}, pi, "not-pxe"},
		"pi set, http boot": {Client{VendorClass: "HTTPClient:Arch:00019", Arch: hw.ArchEFIARM64HTTP}, pi, "http-boot http://10.231.0.1:8080/tftp/ipxe-arm64.efi"},
	}
	for name, tc := range tests {
		if got := Decide(tc.c, tc.h, testPolicy()).String(); got != tc.want {
			t.Errorf("%s: Decide = %q, want %q", name, got, tc.want)
		}
	}
}

func TestPiModel(t *testing.T) {
	rpi4 := append([]byte{0}, "RPi4\x11\x31\xc0\x00\x32\x0a\xef\x79\xef\xfd\xfe\x9f"...)
	rpi5 := append([]byte{0}, "RPi5\x70\x41\xd0\x00\x32\x0a\xef\x79\xef\xfd\xfe\x9f"...)
	old := append([]byte{0}, bytes.Repeat([]byte{0x43, 0x72, 0xee, 0x6a}, 4)...)
	pxe := "PXEClient:Arch:00000:UNDI:002001"
	piMAC := hw.MustParseMAC("dc:a6:32:27:76:bc")
	tests := map[string]struct {
		c    Client
		want string
	}{
		"pi 4 guid":              {Client{MAC: testMAC, VendorClass: pxe, Arch: hw.ArchBIOS, GUID: rpi4}, "RPi4"},
		"pi 5 guid":              {Client{MAC: testMAC, VendorClass: pxe, Arch: hw.ArchBIOS, GUID: rpi5}, "RPi5"},
		"old guid, pi oui":       {Client{MAC: piMAC, VendorClass: pxe, Arch: hw.ArchBIOS, GUID: old}, "MAC"},
		"pi 5 oui":               {Client{MAC: hw.MustParseMAC("2c:cf:67:00:00:01"), VendorClass: pxe, Arch: hw.ArchBIOS}, "MAC"},
		"old guid, other mac":    {Client{MAC: testMAC, VendorClass: pxe, Arch: hw.ArchBIOS, GUID: old}, ""},
		"pi oui, uefi":           {Client{MAC: piMAC, VendorClass: "PXEClient:Arch:00011:UNDI:003000", Arch: hw.ArchEFIARM64}, ""},
		"pi oui, ipxe":           {Client{MAC: piMAC, VendorClass: pxe, Arch: hw.ArchBIOS, IPXE: true}, ""},
		"pi oui, not pxe":        {Client{MAC: piMAC, Arch: hw.ArchBIOS}, ""},
		"short guid with fourcc": {Client{MAC: testMAC, VendorClass: pxe, Arch: hw.ArchBIOS, GUID: rpi4[:9]}, ""},
	}
	for name, tc := range tests {
		if got := PiModel(tc.c); got != tc.want {
			t.Errorf("%s: PiModel = %q, want %q", name, got, tc.want)
		}
	}
}

// TestPiHint: a Pi not set to loader raspberrypi is offered undionly.kpxe,
// which its bootloader ignores; the server says how to fix that, once.
func TestPiHint(t *testing.T) {
	var buf bytes.Buffer
	s := &Server{Mode: ModeProxy, Address: testSelf, Policy: testPolicy(), Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	s.init()
	req, err := dhcpv4.FromBytes(readHex(t, filepath.Join("testdata", "requests", "rpi4_discover.hex")))
	if err != nil {
		t.Fatal(err)
	}
	c := parse(t, req)
	r := query{req: req, c: c}
	r.d = Decide(c, r.h, s.Policy)
	for range 3 {
		s.hintPi(r, time.Now())
	}
	if n := strings.Count(buf.String(), "set loader: raspberrypi"); n != 1 || !strings.Contains(buf.String(), "Raspberry Pi 4 (option 97)") {
		t.Errorf("log after three offers (%d hints):\n%s", n, buf.String())
	}
	buf.Reset()
	r.h = piHosts(c.MAC)
	r.d = Decide(c, r.h, s.Policy)
	s.warned = permac.NewOnce(warnEvery)
	s.hintPi(r, time.Now())
	if buf.Len() != 0 {
		t.Errorf("a Pi set to loader raspberrypi got a hint: %s", buf.String())
	}
}
