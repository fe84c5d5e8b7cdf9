package doctor

import (
	"net"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"
)

func TestParseScript(t *testing.T) {
	tests := map[string]struct {
		body  string
		ipxe  bool
		chain string
	}{
		"bootwright boot.ipxe": {
			"#!ipxe\nchain --autofree http://10.0.0.1:8080/ipxe/${mac:hexhyp}?arch=${buildarch}&platform=${platform} || goto bw-failed\nexit\n",
			true, "http://10.0.0.1:8080/ipxe/${mac:hexhyp}?arch=${buildarch}&platform=${platform}"},
		"imgexec with options": {"#!ipxe\n  imgexec -r --timeout 5000 menu.ipxe\n", true, "menu.ipxe"},
		"a menu, no chain":     {"#!ipxe\nmenu Lab\nitem local Boot from disk\nchoose x && goto ${x}\n", true, ""},
		"html":                 {"<html>not found</html>", false, ""},
		"shebang not first":    {"\n#!ipxe\nchain x\n", false, ""},
		"empty":                {"", false, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ipxe, chain := parseScript(tc.body)
			if ipxe != tc.ipxe || chain != tc.chain {
				t.Errorf("parseScript = %v %q, want %v %q", ipxe, chain, tc.ipxe, tc.chain)
			}
		})
	}
}

func TestExpandChain(t *testing.T) {
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0xab, 0x00, 0x01}
	base := "http://10.0.0.1:8080/boot.ipxe"
	tests := map[string]struct {
		chain string
		arch  hw.Arch
		want  string
		err   string
	}{
		"bootwright efi": {"http://10.0.0.1:8080/ipxe/${mac:hexhyp}?arch=${buildarch}&platform=${platform}", hw.ArchEFIx64,
			"http://10.0.0.1:8080/ipxe/52-54-00-ab-00-01?arch=x86_64&platform=efi", ""},
		"bootwright bios": {"http://10.0.0.1:8080/ipxe/${net0/mac:hexhyp}?arch=${buildarch}&platform=${platform}", hw.ArchBIOS,
			"http://10.0.0.1:8080/ipxe/52-54-00-ab-00-01?arch=i386&platform=pcbios", ""},
		"relative":         {"menu/${mac}.ipxe", hw.ArchBIOS, "http://10.0.0.1:8080/menu/52:54:00:ab:00:01.ipxe", ""},
		"absolute path":    {"/ipxe/${mac:hexhyp}", hw.ArchBIOS, "http://10.0.0.1:8080/ipxe/52-54-00-ab-00-01", ""},
		"unknown settings": {"http://x/${uuid}/${serial}", hw.ArchBIOS, "", "cannot fill in: ${uuid} ${serial}"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := expandChain(tc.chain, base, mac, tc.arch)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("expandChain = %q, %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestDiscoveryControl(t *testing.T) {
	tests := map[string]struct {
		opt43 []byte
		want  int
	}{
		"bootwright":       {[]byte{6, 1, 8, 255}, 8},
		"after a menu":     {[]byte{9, 3, 0, 0, 0, 6, 1, 3, 255}, 3},
		"pad first":        {[]byte{0, 0, 6, 1, 7}, 7},
		"absent":           {[]byte{8, 2, 0, 1, 255}, -1},
		"truncated":        {[]byte{6, 4, 1}, -1},
		"no option 43":     {nil, -1},
		"zero-length tag6": {[]byte{6, 0, 255}, -1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := discoveryControl(tc.opt43); got != tc.want {
				t.Errorf("discoveryControl(%x) = %d, want %d", tc.opt43, got, tc.want)
			}
		})
	}
}
