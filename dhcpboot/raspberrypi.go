package dhcpboot

import (
	"bytes"
	"time"
)

// A Raspberry Pi 4 or 5's EEPROM bootloader (and a Pi 3's boot ROM)
// sends a PXE DISCOVER that claims arch 0, legacy x86 BIOS, and ignores
// boot files: it boots only from an offer whose option 43 holds
// "Raspberry Pi Boot". bootwright sends that offer to machines set to
// loader raspberrypi (Host.RaspberryPi); to any other client that looks
// like a Pi it offers what its arch gets and warns, once per MAC, how to
// fix it.

// piBoot is option 43 for a Raspberry Pi's bootloader, which matches its
// PXE_OPTION43 string, "Raspberry Pi Boot", in it. It is byte for byte
// what dnsmasq 2.90 sends for the Raspberry Pi documentation's
// pxe-service=0,"Raspberry Pi Boot" (testdata/dnsmasq_rpi_*_offer.hex):
// PXE sub-options 6 (discovery control 3: no broadcast or multicast
// discovery), 10 (menu prompt: timeout 0, "PXE") and 9 (boot menu: item
// type 0, "Raspberry Pi Boot").
var piBoot = append([]byte{6, 1, 3, 10, 4, 0, 'P', 'X', 'E', 9, 20, 0, 0, 17}, "Raspberry Pi Boot\xff"...)

// piOUIs are the MAC prefixes of Raspberry Pi boards: b8:27:eb (Pi 1 to
// 3), dc:a6:32, e4:5f:01 and 28:cd:c1 (Pi 4, 400, CM4), 2c:cf:67 and
// d8:3a:dd (Pi 5, CM5).
var piOUIs = [][3]byte{{0xb8, 0x27, 0xeb}, {0xdc, 0xa6, 0x32}, {0xe4, 0x5f, 0x01}, {0x28, 0xcd, 0xc1}, {0x2c, 0xcf, 0x67}, {0xd8, 0x3a, 0xdd}}

// PiModel says whether c looks like a Raspberry Pi's bootloader, and
// how it can tell: "RPi4" or "RPi5" from option 97 (the bootloader's
// default DHCP_OPTION97 starts the GUID with that four-character code),
// else "MAC" from a Raspberry Pi OUI; "" when it does not.
func PiModel(c Client) string {
	if !c.IsPXEClient() || c.IPXE || c.Arch.Code() != 0 {
		return ""
	}
	if len(c.GUID) == 17 && c.GUID[0] == 0 && (bytes.Equal(c.GUID[1:5], []byte("RPi4")) || bytes.Equal(c.GUID[1:5], []byte("RPi5"))) {
		return string(c.GUID[1:5])
	}
	for _, oui := range piOUIs {
		if bytes.Equal(c.MAC[:3], oui[:]) {
			return "MAC"
		}
	}
	return ""
}

// hintPi warns, once per MAC per warnEvery, that a client that looks
// like a Raspberry Pi was offered a boot file, which its bootloader
// ignores.
func (s *Server) hintPi(r query, now time.Time) {
	if r.d.RaspberryPi || !r.d.Boot {
		return
	}
	by := PiModel(r.c)
	if by == "" || !s.warned.OK(r.c.MAC, ReasonRPi, now) {
		return
	}
	s.logger(r).Warn("dhcp: this client looks like a Raspberry Pi, whose bootloader ignores the boot file it was offered; set loader: raspberrypi for it or its group",
		"looks_like", map[string]string{"RPi4": "Raspberry Pi 4 (option 97)", "RPi5": "Raspberry Pi 5 (option 97)", "MAC": "Raspberry Pi (its MAC's OUI)"}[by])
}
