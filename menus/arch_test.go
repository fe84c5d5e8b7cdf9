package menus

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/hw"
)

const archMenu = `entries:
  - {name: local, type: local}
  - name: debian
    kernel: "http://m/{{ .Request.BuildArch }}/linux"
    initrds: ["http://m/initrd.gz"]
    per_arch:
      efi-arm64: {kernel: "http://m/arm64/Image", initrds: ["http://m/arm64/initrd.gz"]}
  - {name: armonly, arch: [efi-arm64], kernel: "http://m/arm/k"}
  - name: x86only
    per_arch:
      bios: {kernel: "http://m/x86/k"}
      efi-x64: {kernel: "http://m/x86/k"}
  - type: assets
`

// TestPerArchEntries: one menu for x86 and ARM64 machines; an entry with
// nothing for the client's arch is left out, not rendered broken.
func TestPerArchEntries(t *testing.T) {
	c, err := Load(tree(map[string]string{"menus/default.yaml": archMenu}))
	if err != nil {
		t.Fatal(err)
	}
	assets, err := ScanAssets(fstest.MapFS{
		"both/vmlinuz":         {Data: []byte("k")},
		"both/initrd.gz":       {Data: []byte("i")},
		"both/arm64/vmlinuz":   {Data: []byte("k")},
		"both/arm64/initrd.gz": {Data: []byte("i")},
		"armonly/arm64/Image":  {Data: []byte("k")}, // not a kernel name: no kernel
		"armk/arm64/vmlinuz":   {Data: []byte("k")},
		"x86/vmlinuz":          {Data: []byte("k")},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, a := range []hw.Arch{hw.ArchBIOS, hw.ArchEFIx64, hw.ArchEFIARM64} {
		buildarch, platform := a.IPXE()
		d, err := c.Resolve(Request{MAC: hw.MAC{2, 0, 0, 0, 0, 1}, Arch: a, BuildArch: buildarch, Platform: platform},
			Server{URL: "http://s", AssetsURL: "http://s/assets"}, assets)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range d.Menu.Entries {
			if e.Type == TypeKernel {
				var initrds []string
				for _, i := range e.Initrds {
					initrds = append(initrds, i.URL)
				}
				got[a.String()] = append(got[a.String()], e.Name+" "+e.Kernel+" "+strings.Join(initrds, ","))
			}
		}
	}
	want := map[string][]string{
		"bios": {"debian http://m/i386/linux http://m/initrd.gz", "x86only http://m/x86/k ",
			"both http://s/assets/both/vmlinuz http://s/assets/both/initrd.gz", "x86 http://s/assets/x86/vmlinuz "},
		"efi-x64": {"debian http://m/x86_64/linux http://m/initrd.gz", "x86only http://m/x86/k ",
			"both http://s/assets/both/vmlinuz http://s/assets/both/initrd.gz", "x86 http://s/assets/x86/vmlinuz "},
		"efi-arm64": {"debian http://m/arm64/Image http://m/arm64/initrd.gz", "armonly http://m/arm/k ",
			"armk http://s/assets/armk/arm64/vmlinuz ", "both http://s/assets/both/arm64/vmlinuz http://s/assets/both/arm64/initrd.gz"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries by arch (-want +got):\n%s", diff)
	}
}

func TestPerArchErrors(t *testing.T) {
	for name, tc := range map[string]struct{ menu, want string }{
		"unknown arch": {"entries:\n  - {name: a, arch: [sparc], kernel: k}\n", `menus/default.yaml:2: entry "a": unknown arch "sparc"`},
		"per_arch without kernel": {"entries:\n  - name: a\n    per_arch:\n      efi-arm64: {initrds: [i]}\n",
			`menus/default.yaml:4: entry "a": per_arch efi-arm64 needs a kernel: key`},
		"no kernel at all": {"entries:\n  - {name: a}\n", `type kernel needs a kernel: key (or per_arch: kernels)`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(tree(map[string]string{"menus/default.yaml": tc.menu}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load error = %v, want %q", err, tc.want)
			}
		})
	}
}
