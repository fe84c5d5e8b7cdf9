package tftpboot

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

func TestParseConfigName(t *testing.T) {
	mac := hw.MAC{0x52, 0x54, 0x00, 0xab, 0x34, 0x60}
	tests := map[string]struct {
		name string
		want ConfigName
		ok   bool
	}{
		"pxelinux default":  {"pxelinux.cfg/default", ConfigName{Kind: ConfigPXELinux}, true},
		"pxelinux mac":      {"pxelinux.cfg/01-52-54-00-ab-34-60", ConfigName{ConfigPXELinux, mac}, true},
		"pxelinux upper":    {"pxelinux.cfg/01-52-54-00-AB-34-60", ConfigName{ConfigPXELinux, mac}, true},
		"grub":              {"grub/grub.cfg", ConfigName{Kind: ConfigGRUB}, true},
		"grub mac":          {"grub/grub.cfg-01-52-54-00-ab-34-60", ConfigName{ConfigGRUB, mac}, true},
		"grub colons":       {"grub/grub.cfg-01-52:54:00:ab:34:60", ConfigName{ConfigGRUB, mac}, true},
		"pxelinux colons":   {"pxelinux.cfg/01-52:54:00:ab:34:60", ConfigName{}, false},
		"pxelinux uuid":     {"pxelinux.cfg/8c6f3c4e-0b4a-4e7b-9a5e-3b1c2d4e5f60", ConfigName{}, false},
		"pxelinux ip hex":   {"pxelinux.cfg/0AE70064", ConfigName{}, false},
		"mixed separators":  {"grub/grub.cfg-01-52-54:00-ab-34-60", ConfigName{}, false},
		"short mac":         {"pxelinux.cfg/01-52-54-00-ab-34", ConfigName{}, false},
		"long mac":          {"pxelinux.cfg/01-52-54-00-ab-34-60-00", ConfigName{}, false},
		"not hex":           {"pxelinux.cfg/01-52-54-00-ag-34-60", ConfigName{}, false},
		"other hw type":     {"pxelinux.cfg/06-52-54-00-ab-34-60", ConfigName{}, false},
		"grub arch lst":     {"grub/x86_64-efi/command.lst", ConfigName{}, false},
		"grub arch cfg":     {"grub/x86_64-efi/grub.cfg", ConfigName{}, false},
		"root grub.cfg":     {"grub.cfg", ConfigName{}, false},
		"an nbp":            {"undionly.kpxe", ConfigName{}, false},
		"pxelinux dir only": {"pxelinux.cfg/", ConfigName{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := ParseConfigName(tc.name)
			if diff := cmp.Diff(tc.want, got); diff != "" || ok != tc.ok {
				t.Errorf("ParseConfigName(%q) ok=%v, want %v (-want +got):\n%s", tc.name, ok, tc.ok, diff)
			}
		})
	}
	for _, k := range []ConfigKind{ConfigPXELinux, ConfigGRUB} {
		n := ConfigFileName(k, mac)
		if got, ok := ParseConfigName(n); !ok || got.Kind != k || got.MAC != mac {
			t.Errorf("ParseConfigName(ConfigFileName(%v)) = %v, %v", k, got, ok)
		}
	}
}

// FuzzParseConfigName checks that a name parses to a six-byte MAC or
// none, and that the per-machine name built from it parses back to it.
func FuzzParseConfigName(f *testing.F) {
	for _, s := range []string{"pxelinux.cfg/default", "pxelinux.cfg/01-52-54-00-ab-34-60",
		"grub/grub.cfg", "grub/grub.cfg-01-52:54:00:AB:34:60", "grub/grub.cfg-01-", "pxelinux.cfg/01-zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c, ok := ParseConfigName(name)
		if !ok {
			if c.Kind != ConfigNone || !c.MAC.IsZero() {
				t.Fatalf("ParseConfigName(%q) = %v but not ok", name, c)
			}
			return
		}
		if c.MAC.IsZero() {
			return
		}
		again, ok := ParseConfigName(ConfigFileName(c.Kind, c.MAC))
		if !ok || again.Kind != c.Kind || again.MAC != c.MAC {
			t.Fatalf("round trip of %q: %v", name, again)
		}
		if !strings.EqualFold(ConfigFileName(c.Kind, c.MAC), strings.ReplaceAll(name, ":", "-")) {
			t.Fatalf("ParseConfigName(%q) = %v, which names %q", name, c, ConfigFileName(c.Kind, c.MAC))
		}
	})
}

const arpSample = `IP address       HW type     Flags       HW address            Mask     Device
10.231.0.100     0x1         0x2         52:54:00:12:34:60     *        br0
10.231.0.101     0x1         0x0         00:00:00:00:00:00     *        br0
10.231.0.102     0x1         0x6         52:54:00:12:34:62     *        br0
10.231.0.103     0x20        0x2         52:54:00:12:34:63     *        ib0
10.231.0.104     0x1         0x2         52-54-00-12-34-64     *        br0
10.231.0.1000    0x1         0x2         52:54:00:12:34:65     *        br0
`

func TestParseARP(t *testing.T) {
	tests := map[string]struct {
		ip   string
		want string
	}{
		"complete":       {"10.231.0.100", "52:54:00:12:34:60"},
		"incomplete":     {"10.231.0.101", ""},
		"permanent":      {"10.231.0.102", "52:54:00:12:34:62"},
		"not ethernet":   {"10.231.0.103", ""},
		"bad mac":        {"10.231.0.104", ""},
		"absent":         {"10.231.0.99", ""},
		"prefix of addr": {"10.231.0.10", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mac, ok := parseARP([]byte(arpSample), netip.MustParseAddr(tc.ip))
			got := ""
			if ok {
				got = mac.String()
			}
			if got != tc.want {
				t.Errorf("parseARP(%s) = %q, want %q", tc.ip, got, tc.want)
			}
		})
	}
	if _, ok := NeighborMAC(netip.MustParseAddr("::1")); ok {
		t.Error("NeighborMAC found an IPv6 neighbour")
	}
}

// FuzzParseARP checks that parseARP never panics and only returns a
// non-zero six-byte MAC from a line that names the address.
func FuzzParseARP(f *testing.F) {
	f.Add([]byte(arpSample), "10.231.0.100")
	f.Add([]byte("IP address HW type Flags HW address Mask Device\n"), "10.0.0.1")
	f.Add([]byte("1.2.3.4 0x1 0xffff 01:02:03:04:05:06 * x\n1.2.3.4"), "1.2.3.4")
	f.Fuzz(func(t *testing.T, data []byte, ipText string) {
		ip, err := netip.ParseAddr(ipText)
		if err != nil {
			return
		}
		mac, ok := parseARP(data, ip)
		if !ok {
			return
		}
		if mac.IsZero() {
			t.Fatalf("parseARP returned %v", mac)
		}
		if !bytes.Contains(data, []byte(ip.String())) || !bytes.Contains(bytes.ToLower(data), []byte(mac.String())) {
			t.Fatalf("parseARP(%q, %s) = %v, not in the input", data, ip, mac)
		}
	})
}
