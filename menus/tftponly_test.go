package menus

import (
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

const secureBootMachines = `groups:
  - name: sb
    match: {labels: [sb]}
    secure_boot: true
machines:
  - {mac: '02:00:00:00:00:01', name: plain}
  - {mac: '02:00:00:00:00:02', name: own, secure_boot: true, loader: grub}
  - {mac: '02:00:00:00:00:03', name: grouped, labels: [sb]}
  - {mac: '02:00:00:00:00:04', name: opted-out, labels: [sb], secure_boot: false}
`

const secureBootMenu = `entries:
  - {name: local, type: local}
  - {name: ours, kernel: os/vmlinuz, initrds: [os/initrd.gz]}
  - {name: upstream, kernel: "http://mirror.example/linux", initrds: [os/initrd.gz, "http://mirror.example/initrd.gz"]}
  - {name: tftp, kernel: "tftp://10.0.0.9/linux"}
  - {name: more, type: menu, menu: more}
`

const secureBootSubmenu = `entries:
  - {name: chain, type: chain, url: "http://boot.example/x.efi"}
`

func TestSecureBootSetting(t *testing.T) {
	c, err := Load(tree(map[string]string{"menus/default.yaml": secureBootMenu, "menus/more.yaml": secureBootSubmenu,
		"menus/machines.yaml": secureBootMachines}))
	if err != nil {
		t.Fatal(err)
	}
	srv := Server{URL: "http://10.0.0.1:8080", AssetsURL: "http://10.0.0.1:8080/assets", TFTPAssetsURL: "tftp://10.0.0.1/assets"}
	type got struct {
		SecureBoot bool
		Kernel     string   // BootURL of the "ours" entry's kernel
		Problems   []string // SecureBootProblems
	}
	problems := []string{
		`menus/default.yaml: entry "upstream": with secure_boot GRUB loads no http module and cannot fetch http://mirror.example/linux; put the file under --assets-dir (served over TFTP too) or give it a tftp:// URL`,
		`menus/default.yaml: entry "upstream": with secure_boot GRUB loads no http module and cannot fetch http://mirror.example/initrd.gz; put the file under --assets-dir (served over TFTP too) or give it a tftp:// URL`,
		`menus/more.yaml: entry "chain": with secure_boot GRUB loads no http module and cannot fetch http://boot.example/x.efi; put the file under --assets-dir (served over TFTP too) or give it a tftp:// URL`,
	}
	tests := map[string]struct {
		mac  string
		want got
	}{
		"unset":                      {"02:00:00:00:00:01", got{false, "http://10.0.0.1:8080/assets/os/vmlinuz", nil}},
		"machine's own":              {"02:00:00:00:00:02", got{true, "tftp://10.0.0.1/assets/os/vmlinuz", problems}},
		"from its group":             {"02:00:00:00:00:03", got{true, "tftp://10.0.0.1/assets/os/vmlinuz", problems}},
		"machine's false wins":       {"02:00:00:00:00:04", got{false, "http://10.0.0.1:8080/assets/os/vmlinuz", nil}},
		"unknown machine, no groups": {"0a:00:00:00:00:09", got{false, "http://10.0.0.1:8080/assets/os/vmlinuz", nil}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mac, _ := hw.ParseMAC(tc.mac)
			d, err := c.Resolve(Request{MAC: mac, Arch: hw.ArchEFIx64}, srv, nil)
			if err != nil {
				t.Fatal(err)
			}
			g := got{d.SecureBoot, d.BootURL(d.Menu.Entries[1].Kernel), d.SecureBootProblems()}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	// Without the assets on TFTP nothing is rewritten, so even this
	// server's assets are problems.
	mac, _ := hw.ParseMAC("02:00:00:00:00:02")
	d, err := c.Resolve(Request{MAC: mac}, Server{URL: srv.URL, AssetsURL: srv.AssetsURL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.BootURL(srv.AssetsURL + "/os/vmlinuz"); got != srv.AssetsURL+"/os/vmlinuz" {
		t.Errorf("BootURL without TFTPAssetsURL = %q", got)
	}
	if n := len(d.SecureBootProblems()); n != 6 {
		t.Errorf("without the assets on TFTP: %d problems, want 6: %q", n, d.SecureBootProblems())
	}
}

func TestSecureBootErrors(t *testing.T) {
	tests := map[string]struct{ machines, want string }{
		"pxelinux on the machine": {"machines:\n  - {mac: '02:00:00:00:00:01', name: m, secure_boot: true, loader: pxelinux}\n",
			"menus/machines.yaml:2: machine m: secure_boot boots UEFI through shim and GRUB, but loader pxelinux is legacy BIOS only"},
		"pxelinux on the group": {"groups:\n  - {name: g, match: {macs: ['02']}, secure_boot: true, loader: pxelinux}\n",
			"menus/machines.yaml:2: group g: secure_boot boots UEFI"},
		"not a bool": {"machines:\n  - {mac: '02:00:00:00:00:01', name: m, secure_boot: maybe}\n",
			"cannot unmarshal"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Load(tree(map[string]string{"menus/default.yaml": minimalMenu, "menus/machines.yaml": tc.machines}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v, want %q", err, tc.want)
			}
		})
	}
	// false with pxelinux is fine: the machine is not a Secure Boot one.
	if _, err := Load(tree(map[string]string{"menus/default.yaml": minimalMenu,
		"menus/machines.yaml": "machines:\n  - {mac: '02:00:00:00:00:01', secure_boot: false, loader: pxelinux}\n"})); err != nil {
		t.Errorf("secure_boot false with pxelinux: %v", err)
	}
}
