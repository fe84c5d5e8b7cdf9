package menus

import (
	"errors"
	"net/netip"
	"path"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

const groupsMenus = `entries:
  - {name: local, type: local}
  - name: k
    kernel: "vmlinuz"
    args: "role={{ .Vars.role }} site={{ .Vars.site }} {{ .Var \"extra\" \"none\" }}"
`

const groupsMachines = `vars: {role: default, site: hq}
groups:
  - name: qemu
    match: {macs: ["52:54:00"]}
    vars: {role: vm}
    args: group=qemu
    default: k
  - name: qemu-efi
    match: {macs: ["52:54:00"], arch: [efi-x64]}
    vars: {role: vm-efi}
  - name: rack1
    match: {labels: [rack1]}
    vars: {role: rack, extra: "from-group"}
    timeout: 2s
  - name: rack1-db
    match: {labels: [rack1, db]}
    vars: {role: db}
    loader: grub
  - name: lab-net
    match: {subnet: 10.9.0.0/16}
    vars: {role: lab}
machines:
  - mac: 52:54:00:00:00:01
    name: vm1
  - mac: 52:54:00:00:00:02
    name: vm2
    vars: {role: override}
    args: machine=vm2
  - mac: 02:00:00:00:00:03
    name: db1
    labels: [rack1, db]
  - mac: 02:00:00:00:00:04
    name: web1
    labels: [rack1]
    vars: {site: branch}
`

func TestGroupsResolve(t *testing.T) {
	c, err := Load(tree(map[string]string{"menus/default.yaml": groupsMenus, "menus/machines.yaml": groupsMachines}))
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Group, Args, Default, Loader string
		Timeout                      string
	}
	tests := map[string]struct {
		mac, arch, ip string
		want          got
	}{
		"mac prefix group, machine default from group": {"52:54:00:00:00:01", "bios", "",
			got{"qemu", "role=vm site=hq none group=qemu", "k", "ipxe", "0s"}},
		"arch makes a group more specific": {"52:54:00:00:00:01", "efi-x64", "",
			got{"qemu-efi", "role=vm-efi site=hq none", "local", "ipxe", "0s"}},
		"machine vars beat group vars, args join": {"52:54:00:00:00:02", "bios", "",
			got{"qemu", "role=override site=hq none group=qemu machine=vm2", "k", "ipxe", "0s"}},
		"two labels beat one": {"02:00:00:00:00:03", "", "",
			got{"rack1-db", "role=db site=hq none", "local", "grub", "0s"}},
		"one label, machine var over default": {"02:00:00:00:00:04", "", "",
			got{"rack1", "role=rack site=branch from-group", "local", "ipxe", "2s"}},
		"unknown machine by subnet": {"0a:00:00:00:00:09", "", "10.9.1.2",
			got{"lab-net", "role=lab site=hq none", "local", "ipxe", "0s"}},
		"unknown machine, no group": {"0a:00:00:00:00:09", "", "192.168.1.2",
			got{"", "role=default site=hq none", "local", "ipxe", "0s"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mac, _ := hw.ParseMAC(tc.mac)
			arch, _ := hw.ParseArch(tc.arch)
			req := Request{MAC: mac, Arch: arch}
			if tc.ip != "" {
				req.ClientIP = netip.MustParseAddr(tc.ip)
			}
			d, err := c.Resolve(req, Server{URL: "http://s", AssetsURL: "http://s/assets"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			g := got{d.Machine.Group, d.Menu.Entries[1].Args, d.Menu.Default, d.Loader, d.Menu.Timeout.String()}
			// The status page names the group without a request: the same.
			if g := c.GroupOf(mac, arch, req.ClientIP); g != d.Machine.Group {
				t.Errorf("GroupOf = %q, Resolve picked %q", g, d.Machine.Group)
			}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupErrors(t *testing.T) {
	tests := map[string]struct{ machines, want string }{
		"equal mac prefixes": {
			"groups:\n  - {name: a, match: {macs: ['52:54:00']}}\n  - {name: b, match: {macs: ['52-54-00']}}\n",
			"menus/machines.yaml:3: group b is as specific as group a (menus/machines.yaml:2) and both match the same request"},
		"different prefixes of equal length do not clash": {
			"groups:\n  - {name: a, match: {macs: ['52:54:00']}}\n  - {name: b, match: {macs: ['52:54:01']}}\n", ""},
		"disjoint arches do not clash": {
			"groups:\n  - {name: a, match: {arch: [bios]}}\n  - {name: b, match: {arch: [efi-x64]}}\n", ""},
		"overlapping subnets clash": {
			"groups:\n  - {name: a, match: {subnet: 10.0.0.0/16}}\n  - {name: b, match: {subnet: 10.0.0.0/16}}\n",
			"group b is as specific as group a"},
		"labels clash only through a machine": {
			"groups:\n  - {name: web, match: {labels: [web]}}\n  - {name: db, match: {labels: [db]}}\nmachines:\n  - {mac: '02:00:00:00:00:01', labels: [web]}\n  - {mac: '02:00:00:00:00:02', labels: [web, db]}\n",
			"group db is as specific as group web (menus/machines.yaml:2) and both match machine 02-00-00-00-00-02"},
		"labels without a shared machine": {
			"groups:\n  - {name: web, match: {labels: [web]}}\n  - {name: db, match: {labels: [db]}}\nmachines:\n  - {mac: '02:00:00:00:00:01', labels: [web]}\n", ""},
		"bad arch":         {"groups:\n  - {name: a, match: {arch: [sparc]}}\n", `menus/machines.yaml:2: group a: unknown arch "sparc"`},
		"bad mac selector": {"groups:\n  - {name: a, match: {macs: ['zz']}}\n", `group a: mac selector "zz"`},
		"bad subnet":       {"groups:\n  - name: a\n    match: {subnet: 10.0.0/8}\n", `menus/machines.yaml:3: invalid subnet "10.0.0/8"`},
		"unknown menu":     {"groups:\n  - {name: a, menu: nope}\n", `group a: no menu "nope"`},
		"bad loader":       {"machines:\n  - {mac: '02:00:00:00:00:01', loader: lilo}\n", `unknown loader "lilo"`},
		"duplicate group":  {"groups:\n  - {name: a}\n  - {name: a, match: {arch: [bios]}}\n", "menus/machines.yaml:3: group a already defined"},
		"duplicate ip": {"machines:\n  - {mac: '02:00:00:00:00:01', ip: 10.0.0.5}\n  - {mac: '02:00:00:00:00:02', ip: 10.0.0.5}\n",
			"menus/machines.yaml:3: machine 02-00-00-00-00-02: ip 10.0.0.5 already reserved at menus/machines.yaml:2"},
		"file outside": {"machines:\n  - {mac: '02:00:00:00:00:01', files: [../x]}\n", `file name "../x" must be a clean relative path`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Load(tree(map[string]string{"menus/default.yaml": minimalMenu, "menus/machines.yaml": tc.machines}))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSubmenuErrors(t *testing.T) {
	tests := map[string]struct {
		files map[string]string
		want  string
	}{
		"cycle": {map[string]string{
			"menus/default.yaml": "entries:\n  - {name: a, type: menu, menu: one}\n",
			"menus/one.yaml":     "entries:\n  - {name: b, type: menu, menu: two}\n",
			"menus/two.yaml":     "entries:\n  - {name: shell, type: shell}\n  - {name: c, type: menu, menu: one}\n",
		}, `menus/two.yaml:3: entry "c": submenu cycle default -> one -> two -> one`},
		"self": {map[string]string{
			"menus/default.yaml": "entries:\n  - {name: a, type: menu, menu: default}\n",
		}, "submenu cycle default -> default"},
		"missing": {map[string]string{
			"menus/default.yaml": "entries:\n  - {name: a, type: menu, menu: tools}\n",
		}, `menus/default.yaml:2: entry "a": no menu "tools"`},
		"no menu field": {map[string]string{
			"menus/default.yaml": "entries:\n  - {name: a, type: menu}\n",
		}, `type menu needs menu:`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Load(tree(tc.files))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestFilesAllowed(t *testing.T) {
	c, err := Load(tree(map[string]string{
		"menus/default.yaml":  "files: [kickstart.ks]\nentries:\n  - {name: t, type: menu, menu: tools}\n",
		"menus/tools.yaml":    "files: [autoinstall/]\nentries:\n  - {name: shell, type: shell}\n",
		"menus/machines.yaml": "machines:\n  - {mac: '02:00:00:00:00:01', files: [extra.sh]}\n  - {mac: '02:00:00:00:00:02', file_access: open}\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := hw.ParseMAC("02:00:00:00:00:01")
	d, err := c.Resolve(Request{MAC: mac}, Server{URL: "http://s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"kickstart.ks": true, "autoinstall/user-data": true, "extra.sh": true,
		"preseed.cfg": false, "autoinstall": false, "kickstart.ks.bak": false,
	} {
		if got := d.AllowsFile(name); got != want {
			t.Errorf("AllowsFile(%q) = %v, want %v", name, got, want)
		}
	}
	if got := d.FileURL("autoinstall/"); got != "http://s/files/02-00-00-00-00-01/autoinstall/" {
		t.Errorf("FileURL = %q", got)
	}
	if d.FileAccess != FileAccessMachine {
		t.Errorf("FileAccess = %q, want machine by default", d.FileAccess)
	}
	d, err = c.Resolve(Request{MAC: mac, FileToken: "tok"}, Server{URL: "http://s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.FileURL("kickstart.ks"); got != "http://s/t/tok/files/02-00-00-00-00-01/kickstart.ks" {
		t.Errorf("FileURL with a token = %q", got)
	}
}

func TestInstallOnce(t *testing.T) {
	c, err := Load(tree(map[string]string{
		"menus/default.yaml":  "entries:\n  - {name: disk, type: local}\n  - {name: inst, kernel: vmlinuz}\n  - {name: other, type: shell}\n",
		"menus/machines.yaml": "groups:\n  - {name: g, match: {macs: ['52:54:00']}, install: inst}\nmachines:\n  - {mac: '52:54:00:00:00:01', default: other}\n  - {mac: '02:00:00:00:00:02', install: inst}\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct{ mac, state, want string }{
		"group install entry until installed": {"52:54:00:00:00:01", "assigned", "inst"},
		"installing still installs":           {"52:54:00:00:00:01", "installing", "inst"},
		"installed boots local disk":          {"52:54:00:00:00:01", "installed", "disk"},
		"machine install entry":               {"02:00:00:00:00:02", "", "inst"},
		"no install entry keeps the default":  {"02:00:00:00:00:03", "installed", "disk"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mac, _ := hw.ParseMAC(tc.mac)
			d, err := c.Resolve(Request{MAC: mac, State: tc.state, Callback: "http://s/cb"}, Server{URL: "http://s"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d.Menu.Default != tc.want || d.Callback != "http://s/cb" {
				t.Errorf("default %q callback %q, want %q", d.Menu.Default, d.Callback, tc.want)
			}
		})
	}
}

// TestInstallEntryForOtherArches: an install entry that boots nothing on
// the machine's arch (arch: leaves it out there) is no error: the machine
// boots its default, with a note; an install entry that does not exist
// at all still is one.
func TestInstallEntryForOtherArches(t *testing.T) {
	c, err := Load(tree(map[string]string{
		"menus/default.yaml": "entries:\n  - {name: disk, type: local}\n  - {name: inst, kernel: vmlinuz, arch: [bios]}\n",
		"menus/machines.yaml": "machines:\n  - {mac: '02:00:00:00:00:01', install: inst, default: disk}\n" +
			"  - {mac: '02:00:00:00:00:02', install: nowhere}\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	efi := hw.ArchFromCode(7)
	mac := hw.MustParseMAC("02:00:00:00:00:01")
	for arch, want := range map[hw.Arch]string{hw.ArchBIOS: "inst", efi: "disk"} {
		d, err := c.Resolve(Request{MAC: mac, Arch: arch}, Server{URL: "http://s"}, nil)
		if err != nil || len(d.Errors) > 0 {
			t.Fatalf("%s: %v %v", arch, err, d.Errors)
		}
		if d.Menu.Default != want {
			t.Errorf("%s: default %q, want %q", arch, d.Menu.Default, want)
		}
		if note := strings.Join(d.Notes, "; "); (want == "disk") != strings.Contains(note, "boots nothing on") {
			t.Errorf("%s: notes %q", arch, note)
		}
	}
	d, err := c.Resolve(Request{MAC: hw.MustParseMAC("02:00:00:00:00:02"), Arch: efi}, Server{URL: "http://s"}, nil)
	if err != nil || len(d.Errors) != 1 || !strings.Contains(d.Errors[0].Error(), `install entry "nowhere" is not in menu`) {
		t.Errorf("missing install entry: %v %v", err, d.Errors)
	}
}

func TestFileAccessSetting(t *testing.T) {
	c, err := Load(tree(map[string]string{
		"menus/default.yaml":  minimalMenu,
		"menus/machines.yaml": "groups:\n  - {name: lab, match: {macs: ['02:00']}, file_access: open}\nmachines:\n  - {mac: '02:00:00:00:00:01'}\n  - {mac: '02:00:00:00:00:02', file_access: machine}\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	for mac, want := range map[string]string{"02:00:00:00:00:01": "open", "02:00:00:00:00:02": "machine", "0a:00:00:00:00:03": "machine"} {
		hw, _ := hw.ParseMAC(mac)
		d, err := c.Resolve(Request{MAC: hw}, Server{}, nil)
		if err != nil || d.FileAccess != want {
			t.Errorf("%s: FileAccess %q, %v; want %q", mac, d.FileAccess, err, want)
		}
	}
	if _, err := Load(tree(map[string]string{"menus/default.yaml": minimalMenu,
		"menus/machines.yaml": "machines:\n  - {mac: '02:00:00:00:00:01', file_access: public}\n"})); err == nil || !strings.Contains(err.Error(), `unknown file_access "public"`) {
		t.Errorf("bad file_access: %v", err)
	}
}

func TestCachedEntries(t *testing.T) {
	c, err := Load(tree(map[string]string{
		"menus/default.yaml": `entries:
  - name: cached
    kernel: http://mirror.example/d/linux
    initrds: [http://mirror.example/d/initrd.gz]
    sha256: {linux: "ab00000000000000000000000000000000000000000000000000000000000000"}
  - name: plain
    kernel: http://mirror.example/d/linux
  - name: local-asset
    kernel: testos/vmlinuz
    cache: true
`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	var registered []string
	srv := Server{URL: "http://s", AssetsURL: "http://s/assets", Cache: func(u, sum, _ string) (string, error) {
		registered = append(registered, u+" "+sum)
		return "/cache/k/" + path.Base(u), nil
	}}
	mac, _ := hw.ParseMAC("02:00:00:00:00:01")
	d, err := c.Resolve(Request{MAC: mac}, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{d.Menu.Entries[0].Kernel, d.Menu.Entries[0].Initrds[0].URL, d.Menu.Entries[1].Kernel, d.Menu.Entries[2].Kernel}
	want := []string{"http://s/cache/k/linux", "http://s/cache/k/initrd.gz", "http://mirror.example/d/linux", "http://s/assets/testos/vmlinuz"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("URLs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"http://mirror.example/d/linux ab00000000000000000000000000000000000000000000000000000000000000", "http://mirror.example/d/initrd.gz "}, registered); diff != "" {
		t.Errorf("registered (-want +got):\n%s", diff)
	}
	srv.Cache = func(string, string, string) (string, error) { return "", errors.New("cache: disk full") }
	d, _ = c.Resolve(Request{MAC: mac}, srv, nil)
	if len(d.Errors) != 1 || !strings.Contains(d.Errors[0].Error(), `menus/default.yaml:3: entry "cached": cache: disk full`) {
		t.Errorf("a cache error is not reported against the entry's kernel: %v", d.Errors)
	}
	if _, err := Load(tree(map[string]string{"menus/default.yaml": "entries:\n  - {name: k, kernel: http://m/linux, sha256: {linux: abc}}\n"})); err == nil ||
		!strings.Contains(err.Error(), `menus/default.yaml:2: entry "k": sha256 of "linux" must be 64 hex digits`) {
		t.Errorf("a short sha256: %v", err)
	}
}
