package menus

import (
	"errors"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

const piMachines = `groups:
  - name: pis
    match: {macs: ["dc:a6:32", "e4:5f:01", "2c:cf:67", "d8:3a:dd"]}
    loader: raspberrypi
machines:
  - {mac: 'dc:a6:32:00:00:01', name: pi-debian}
  - {mac: 'dc:a6:32:00:00:02', name: pi-local, default: local}
  - {mac: 'dc:a6:32:00:00:03', name: pi-upstream, default: upstream}
  - {mac: 'dc:a6:32:00:00:04', name: pi-chain, default: more.chain}
  - {mac: 'dc:a6:32:00:00:05', name: pi-nested, default: more.deep}
  - {mac: 'dc:a6:32:00:00:06', name: pi-x86only, default: x86}
  - {mac: '02:00:00:00:00:07', name: not-a-pi, default: debian}
`

const piMenu = `default: debian
entries:
  - {name: local, type: local}
  - name: debian
    args: console=ttyS1,115200 priority=critical
    per_arch:
      efi-x64: {kernel: debian/vmlinuz, initrds: [debian/initrd.gz]}
      efi-arm64: {kernel: debian/arm64/vmlinuz, initrds: [debian/arm64/initrd.gz, debian/arm64/extra.cpio]}
  - {name: upstream, kernel: "http://mirror.example/linux"}
  - {name: x86, arch: [efi-x64], kernel: debian/vmlinuz}
  - {name: more, type: menu, menu: more}
`

const piSubmenu = `entries:
  - {name: chain, type: chain, url: "http://boot.example/x.efi"}
  - {name: deep, kernel: deep/vmlinuz, args: deep=1}
`

func TestRaspberryPi(t *testing.T) {
	c, err := Load(tree(map[string]string{"menus/default.yaml": piMenu, "menus/more.yaml": piSubmenu,
		"menus/machines.yaml": piMachines}))
	if err != nil {
		t.Fatal(err)
	}
	srv := Server{URL: "http://10.0.0.1:8080", AssetsURL: "http://10.0.0.1:8080/assets", TFTPAssetsURL: "tftp://10.0.0.1/assets"}
	type want struct {
		Loader string
		Boot   PiBoot // Entry left out
		Err    string
		Local  bool // errors.Is(err, ErrLocalBoot)
	}
	tests := map[string]struct {
		mac  string
		want want
	}{
		"default entry, its arm64 files": {"dc:a6:32:00:00:01", want{Loader: LoaderRaspberryPi, Boot: PiBoot{
			Kernel:  "assets/debian/arm64/vmlinuz",
			Initrds: []string{"assets/debian/arm64/initrd.gz", "assets/debian/arm64/extra.cpio"},
			Args:    "console=ttyS1,115200 priority=critical"}}},
		"local disk": {"dc:a6:32:00:00:02", want{Loader: LoaderRaspberryPi, Local: true,
			Err: `machine pi-local: entry "local": the default entry boots the local disk`}},
		"file not on TFTP": {"dc:a6:32:00:00:03", want{Loader: LoaderRaspberryPi,
			Err: `machine pi-upstream: entry "upstream": a Raspberry Pi loads files over TFTP only and cannot fetch http://mirror.example/linux; put the file under --assets-dir (served over TFTP too)`}},
		"chain entry": {"dc:a6:32:00:00:04", want{Loader: LoaderRaspberryPi,
			Err: `machine pi-chain: default entry "more.chain" is of type chain; a Raspberry Pi boots a kernel entry (or local)`}},
		"entry in a submenu": {"dc:a6:32:00:00:05", want{Loader: LoaderRaspberryPi, Boot: PiBoot{
			Kernel: "assets/deep/vmlinuz", Args: "deep=1"}}},
		// The x86-only entry is left out of an arm64 menu, so the menu's
		// default stands in for the machine's.
		"entry for another arch": {"dc:a6:32:00:00:06", want{Loader: LoaderRaspberryPi, Boot: PiBoot{
			Kernel:  "assets/debian/arm64/vmlinuz",
			Initrds: []string{"assets/debian/arm64/initrd.gz", "assets/debian/arm64/extra.cpio"},
			Args:    "console=ttyS1,115200 priority=critical"}}},
		"other loader": {"02:00:00:00:00:07", want{Loader: LoaderIPXE, Boot: PiBoot{
			Kernel:  "assets/debian/arm64/vmlinuz",
			Initrds: []string{"assets/debian/arm64/initrd.gz", "assets/debian/arm64/extra.cpio"},
			Args:    "console=ttyS1,115200 priority=critical"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mac := hw.MustParseMAC(tc.mac)
			d, err := c.Resolve(Request{MAC: mac, Arch: hw.ArchEFIARM64}, srv, nil)
			if err != nil {
				t.Fatal(err)
			}
			pb, err := d.RaspberryPi()
			g := want{Loader: d.Loader, Boot: pb, Local: errors.Is(err, ErrLocalBoot)}
			g.Boot.Entry = nil
			if err != nil {
				g.Err = err.Error()
			}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	// Without the assets on TFTP, no file can reach a Pi.
	d, err := c.Resolve(Request{MAC: hw.MustParseMAC("dc:a6:32:00:00:01"), Arch: hw.ArchEFIARM64},
		Server{URL: srv.URL, AssetsURL: srv.AssetsURL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.RaspberryPi(); err == nil {
		t.Error("RaspberryPi() without TFTP assets: no error")
	}
}

func TestRaspberryPiSettings(t *testing.T) {
	for name, tc := range map[string]struct{ machines, want string }{
		"secure boot": {`machines: [{mac: 'dc:a6:32:00:00:01', name: pi, loader: raspberrypi, secure_boot: true}]`,
			"menus/machines.yaml:1: machine pi: secure_boot boots UEFI through shim and GRUB, but loader raspberrypi boots the Pi's own firmware, which has no Secure Boot (leave one of them out)"},
		"unknown loader": {`machines: [{mac: 'dc:a6:32:00:00:01', name: pi, loader: rpi}]`,
			`menus/machines.yaml:1: machine pi: unknown loader "rpi" (want ipxe, pxelinux, grub or raspberrypi)`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(tree(map[string]string{"menus/default.yaml": piMenu, "menus/more.yaml": piSubmenu,
				"menus/machines.yaml": tc.machines}))
			if err == nil || err.Error() != tc.want {
				t.Errorf("Load: %v\nwant %s", err, tc.want)
			}
		})
	}
}
