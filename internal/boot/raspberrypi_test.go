package boot

import (
	"errors"
	"io/fs"
	"net/netip"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"
)

func TestPiTFTP(t *testing.T) {
	pi, local, upstream := netip.MustParseAddr("10.231.0.110"), netip.MustParseAddr("10.231.0.111"), netip.MustParseAddr("10.231.0.112")
	stranger := netip.MustParseAddr("10.231.0.199")
	p := testPolicy(t, "10.231.0.1", false)
	p.TFTPAssets = true
	p.Neighbor = func(ip netip.Addr) (hw.MAC, bool) {
		m, ok := map[netip.Addr]hw.MAC{pi: hw.MustParseMAC("dc:a6:32:00:00:10"), local: hw.MustParseMAC("dc:a6:32:00:00:11"),
			upstream: hw.MustParseMAC("dc:a6:32:00:00:12")}[ip]
		return m, ok
	}
	config := `# bootwright: pi-10 (dc:a6:32:00:00:10), entry os: An OS
[all]
arm_64bit=1
enable_uart=1
upstream_kernel=1
kernel=assets/os/vmlinuz
initramfs assets/os/initrd.gz followkernel
`
	const served, missing = "(served from the files)", "(not found)"
	tests := map[string]struct {
		name string
		peer netip.Addr
		want string
	}{
		"config.txt under the serial":      {"9ffefdef/config.txt", pi, config},
		"config.txt without a prefix":      {"config.txt", pi, config},
		"config.txt under the mac":         {"dc-a6-32-00-00-10/config.txt", stranger, config},
		"cmdline.txt":                      {"9ffefdef/cmdline.txt", pi, "console=ttyS0 m=pi-10\n"},
		"firmware for a pi to boot":        {"9ffefdef/start4.elf", pi, served},
		"firmware, default entry local":    {"9ffefdef/start4.elf", local, missing},
		"config.txt, default entry local":  {"dc-a6-32-00-00-11/config.txt", stranger, missing},
		"firmware, entry not on tftp":      {"start4.elf", upstream, missing},
		"unknown client":                   {"9ffefdef/config.txt", stranger, served},
		"another loader's machine":         {"52-54-00-00-00-03/config.txt", stranger, served},
		"the kernel":                       {"9ffefdef/assets/os/vmlinuz", pi, served},
		"a name that is no pi file":        {"9ffefdef/kernel8.img", local, served},
		"firmware for another loader's pc": {"start4.elf", stranger, served},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, ok, err := p.TFTP(tc.name, tc.peer)
			got := string(out)
			switch {
			case !ok:
				got = served
			case errors.Is(err, fs.ErrNotExist):
				got = missing
			case err != nil:
				t.Fatalf("TFTP(%q): %v", tc.name, err)
			}
			if got != tc.want {
				t.Errorf("TFTP(%q) from %v = %q (err %v), want %q", tc.name, tc.peer, got, err, tc.want)
			}
		})
	}
}

func TestPiHost(t *testing.T) {
	p := testPolicy(t, "10.231.0.1", true)
	if h := p.Host(hw.MustParseMAC("dc:a6:32:00:00:10")); !h.RaspberryPi || h.ArchBootFiles != nil || h.IPXEScript != "" {
		t.Errorf("Host(pi) = %+v, want RaspberryPi and nothing else to boot", h)
	}
	if h := p.Host(hw.MustParseMAC("52:54:00:00:00:03")); h.RaspberryPi {
		t.Errorf("Host(ipxe machine) = %+v, want no RaspberryPi", h)
	}
}
