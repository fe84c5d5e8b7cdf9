package menus

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/hw"
)

// embedded returns the embedded menus as a config tree, with extra files
// on top (a machines.yaml, say).
func embedded(t *testing.T, extra map[string]string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	files, _ := fs.Glob(Defaults(), "*.yaml")
	for _, f := range files {
		data, err := fs.ReadFile(Defaults(), f)
		if err != nil {
			t.Fatal(err)
		}
		m["menus/"+f] = &fstest.MapFile{Data: data}
	}
	for name, data := range extra {
		m[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return m
}

// catalogEntry resolves the default menu for arch and returns the entry
// with the given label, or nil.
func catalogEntry(t *testing.T, c *Config, arch hw.Arch, label string, srv Server) *ResolvedEntry {
	t.Helper()
	mac, _ := hw.ParseMAC("02:00:00:00:00:09")
	d, err := c.Resolve(Request{MAC: mac, Arch: arch}, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Errors) > 0 {
		t.Fatalf("resolve errors: %v", d.Errors)
	}
	return d.Menu.find(label)
}

func TestCatalogMirrors(t *testing.T) {
	tests := map[string]struct {
		vars string
		want string // kernel of install.debian-13 on BIOS
	}{
		"upstream":           {"", "http://deb.debian.org/debian/dists/trixie/"},
		"one local mirror":   {"vars: {catalog_mirror: http://10.0.0.5/mirror/}", "http://10.0.0.5/mirror/debian/dists/trixie/"},
		"a distribution's":   {"vars: {catalog_mirror: http://10.0.0.5/mirror, debian_mirror: http://deb.lan/debian}", "http://deb.lan/debian/dists/trixie/"},
		"a group's mirror":   {"vars: {catalog_mirror: http://10.0.0.5/m}\ngroups:\n  - {name: g, match: {macs: [\"02:00\"]}, vars: {debian_mirror: http://g/debian}}", "http://g/debian/dists/trixie/"},
		"an empty one skips": {"vars: {debian_mirror: \"\"}", "http://deb.debian.org/debian/dists/trixie/"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Load(embedded(t, map[string]string{"menus/machines.yaml": tc.vars}))
			if err != nil {
				t.Fatal(err)
			}
			e := catalogEntry(t, c, hw.ArchBIOS, "install.debian-13", Server{URL: "http://s"})
			if e == nil || !strings.HasPrefix(e.Kernel, tc.want) {
				t.Errorf("kernel = %+v, want it under %s", e, tc.want)
			}
		})
	}
}

// Every catalog entry goes through the cache, with its distribution's
// checksum list where it publishes one.
func TestCatalogThroughTheCache(t *testing.T) {
	c, err := Load(embedded(t, map[string]string{"menus/machines.yaml": "vars: {fedora_release: \"99\"}"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	srv := Server{URL: "http://s", AssetsURL: "http://s/assets", Cache: func(u, sum, sums string) (string, error) {
		got = append(got, u+" sums="+sums)
		return "/cache/k/" + u[strings.LastIndex(u, "/")+1:], nil
	}}
	e := catalogEntry(t, c, hw.ArchEFIx64, "install.fedora", srv)
	if e.Kernel != "http://s/cache/k/vmlinuz" || e.Initrds[0].URL != "http://s/cache/k/initrd.img" {
		t.Errorf("fedora not cached: %+v", e)
	}
	treeinfo := "https://dl.fedoraproject.org/pub/fedora/linux/releases/99/Everything/x86_64/os/.treeinfo"
	for _, want := range []string{
		"https://dl.fedoraproject.org/pub/fedora/linux/releases/99/Everything/x86_64/os/images/pxeboot/vmlinuz sums=" + treeinfo,
		"https://dl.fedoraproject.org/pub/fedora/linux/releases/99/Everything/x86_64/os/images/pxeboot/initrd.img sums=" + treeinfo,
		"https://geo.mirror.pkgbuild.com/iso/latest/arch/boot/x86_64/vmlinuz-linux sums=",
		"http://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64/linux sums=http://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/images/SHA256SUMS",
	} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("not registered with the cache: %s", want)
		}
	}
	// memtest86+ comes from this server: never through the cache.
	if m := catalogEntry(t, c, hw.ArchEFIx64, "tools.memtest86plus", srv); m == nil || m.Kernel != "http://s/tftp/memtest86+x64.efi" {
		t.Errorf("memtest86+ on efi-x64: %+v", m)
	}
}

// Entries are hidden for the arches their distribution does not publish.
func TestCatalogArches(t *testing.T) {
	c, err := Load(embedded(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		arch   hw.Arch
		label  string
		kernel string // "" : hidden
	}{
		"debian arm64":           {hw.ArchEFIARM64, "install.debian-13", "installer-arm64/current/images/netboot/debian-installer/arm64/linux"},
		"fedora arm64":           {hw.ArchEFIARM64, "install.fedora", "/Everything/aarch64/os/images/pxeboot/vmlinuz"},
		"arch linux no arm64":    {hw.ArchEFIARM64, "live.archlinux", ""},
		"ubuntu no arm64":        {hw.ArchEFIARM64, "install.ubuntu-24.04", ""},
		"openbsd bios only":      {hw.ArchEFIx64, "install.openbsd", ""},
		"openbsd on bios":        {hw.ArchBIOS, "install.openbsd", "/amd64/pxeboot"},
		"memtest bios":           {hw.ArchBIOS, "tools.memtest86plus", "/tftp/memtest86+x64.bin"},
		"memtest not on arm64":   {hw.ArchEFIARM64, "tools.memtest86plus", ""},
		"debian not on arm32":    {hw.ArchEFIARM32, "install.debian-13", ""},
		"alpine arm64":           {hw.ArchEFIARM64, "live.alpine", "/releases/aarch64/netboot/vmlinuz-lts"},
		"windows hidden, no var": {hw.ArchEFIx64, "install.windows", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := catalogEntry(t, c, tc.arch, tc.label, Server{URL: "http://s"})
			switch {
			case tc.kernel == "" && e != nil:
				t.Errorf("%s shown on %s: %s", tc.label, tc.arch, e.Kernel)
			case tc.kernel != "" && (e == nil || !strings.Contains(e.Kernel, tc.kernel)):
				t.Errorf("%s on %s = %+v, want a kernel with %s", tc.label, tc.arch, e, tc.kernel)
			}
		})
	}
	// fedora's inst.repo follows the arch too.
	if e := catalogEntry(t, c, hw.ArchEFIARM64, "install.fedora", Server{URL: "http://s"}); !strings.Contains(e.Args, "/Everything/aarch64/os") {
		t.Errorf("fedora arm64 args %q", e.Args)
	}
}

func TestCatalogDefaults(t *testing.T) {
	// A release default beneath machines.yaml's vars and a machine's.
	c, err := Load(embedded(t, map[string]string{"menus/machines.yaml": `
vars: {fedora_release: "44"}
machines:
  - {mac: "02:00:00:00:00:09", vars: {fedora_release: "45"}, default: fedora}
`}))
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := hw.ParseMAC("02:00:00:00:00:09")
	d, err := c.Resolve(Request{MAC: mac, Arch: hw.ArchBIOS}, Server{URL: "http://s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := d.Menu.find("install.fedora")
	if e == nil || e.Title != "Fedora 45" {
		t.Errorf("fedora entry %+v, want the machine's release", e)
	}
	// default: fedora names the entry in the Install submenu; the menu
	// offers it on its first screen.
	if d.Menu.Default != "install.fedora" {
		t.Errorf("default %q, want install.fedora", d.Menu.Default)
	}
	if nd := d.Menu.NestedDefault(); nd == nil || nd.Label != "install.fedora" {
		t.Errorf("NestedDefault = %+v", nd)
	}
	if diff := cmp.Diff("https://dl.fedoraproject.org/pub/fedora/linux", c.Mirrors()["fedora"]); diff != "" {
		t.Error(diff)
	}
}

// Bad catalog files are refused with file:line.
func TestCatalogBadInput(t *testing.T) {
	tests := map[string]struct {
		file string
		want string
	}{
		"unknown key": {"title: x\nentries:\n  - name: a\n    kernal: http://m/linux\n",
			`menus/catalog-x.yaml:4: unknown key "kernal" in an entry`},
		"duplicate name": {"title: x\nentries:\n  - {name: a, kernel: http://m/a}\n  - {name: a, kernel: http://m/b}\n",
			`menus/catalog-x.yaml:4: entry "a" already defined at menus/catalog-x.yaml:3`},
		"no kernel for any arch": {"title: x\nentries:\n  - name: a\n    arch: [bios]\n    per_arch: {efi-arm64: {kernel: http://m/a}}\n",
			`menus/catalog-x.yaml:3: entry "a" has no kernel for any arch`},
		"no kernel at all": {"title: x\nentries:\n  - {name: a, initrds: [http://m/i]}\n",
			`menus/catalog-x.yaml:3: entry "a": type kernel needs a kernel`},
		"wimboot without wimboot": {"title: x\nentries:\n  - {name: a, type: wimboot, initrds: [http://m/boot.wim]}\n",
			`menus/catalog-x.yaml:3: entry "a": type wimboot needs a kernel`},
		"mirror with a slash": {"title: x\nmirrors:\n  deb: http://m/debian/\nentries: [{name: a, type: shell}]\n",
			`menus/catalog-x.yaml:3: mirror deb: "http://m/debian/" must be`},
		"mirror name": {"title: x\nmirrors:\n  Deb-1: http://m/debian\nentries: [{name: a, type: shell}]\n",
			`menus/catalog-x.yaml:3: mirror name "Deb-1"`},
		"conflicting mirror": {"title: x\nmirrors:\n  debian: http://elsewhere/debian\nentries: [{name: a, type: shell}]\n",
			`menus/catalog-x.yaml:3: mirror debian is http://elsewhere/debian here but http://deb.debian.org/debian at menus/catalog-install.yaml:`},
		"conflicting release": {"title: x\nvars:\n  fedora_release: \"12\"\nentries: [{name: a, type: shell}]\n",
			`menus/catalog-x.yaml:3: var fedora_release is 12 here but 43 at menus/catalog-install.yaml:`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Load(embedded(t, map[string]string{"menus/catalog-x.yaml": tc.file}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
	// An unknown mirror fails the render, naming it.
	c, err := Load(embedded(t, map[string]string{"menus/catalog-x.yaml": "title: x\nentries:\n  - {name: a, kernel: '{{ .Mirror \"nosuch\" }}/linux'}\n"}))
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := hw.ParseMAC("02:00:00:00:00:09")
	c.Menus["default"].Entries = append(c.Menus["default"].Entries, Entry{Name: "x", Type: TypeMenu, Menu: "catalog-x"})
	d, _ := c.Resolve(Request{MAC: mac, Arch: hw.ArchBIOS}, Server{URL: "http://s"}, nil)
	if len(d.Errors) != 1 || !strings.Contains(d.Errors[0].Error(), `menus/catalog-x.yaml:3: entry "a"`) || !strings.Contains(d.Errors[0].Error(), `no mirror "nosuch"`) {
		t.Errorf("errors %v", d.Errors)
	}
}
