package menus

import (
	"io/fs"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

const minimalMenu = "title: t\nentries:\n  - name: local\n    type: local\n"

func tree(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, data := range files {
		m[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return m
}

func TestLoadErrors(t *testing.T) {
	tests := map[string]struct {
		files map[string]string
		want  string // substring of the error
	}{
		"no default menu": {
			files: map[string]string{"menus/other.yaml": minimalMenu},
			want:  "menus/default.yaml: the default menu is missing",
		},
		"yaml syntax error": {
			files: map[string]string{"menus/default.yaml": "title: t\nentries:\n  - name: [\n"},
			want:  "menus/default.yaml:3: did not find expected node content",
		},
		"unknown key in an entry": {
			files: map[string]string{"menus/default.yaml": "title: t\nentries:\n  - name: a\n    kernal: x\n"},
			want:  `menus/default.yaml:4: unknown key "kernal" in an entry (known: name, title, help, type, kernel, initrds, args, url, menu, cache, sha256, sums, needs, arch, per_arch)`,
		},
		"unknown key in a menu": {
			files: map[string]string{"menus/default.yaml": "title: t\nentry:\n  - name: a\n"},
			want:  `menus/default.yaml:2: unknown key "entry" at the top level (known: title, timeout, default, entries, files, cache, vars, mirrors)`,
		},
		"unknown key in a machine": {
			files: map[string]string{"menus/default.yaml": minimalMenu, "menus/machines.yaml": "machines:\n  - mac: 52:54:00:00:00:01\n    name: a\n    colour: red\n"},
			want: `menus/machines.yaml:4: unknown key "colour" in a machine (known: mac, name, hostname, labels, ip, ipxe_script, ` +
				`menu, default, install, timeout, args, loader, secure_boot, files, file_access, vars)`,
		},
		"unknown key in a group": {
			files: map[string]string{"menus/default.yaml": minimalMenu, "menus/machines.yaml": "groups:\n  - name: g\n    matches: {arch: [bios]}\n"},
			want:  `menus/machines.yaml:3: unknown key "matches" in a group (known: name, match, menu, default,`,
		},
		"unknown key in a group's match": {
			files: map[string]string{"menus/default.yaml": minimalMenu, "menus/machines.yaml": "groups:\n  - name: g\n    match: {mac: ['52:54:00']}\n"},
			want:  `menus/machines.yaml:3: unknown key "mac" in a group's match (known: macs, arch, labels, subnet)`,
		},
		"unknown key in machines.yaml": {
			files: map[string]string{"menus/default.yaml": minimalMenu, "menus/machines.yaml": "var: {a: b}\n"},
			want:  `menus/machines.yaml:1: unknown key "var" at the top level (known: vars, groups, machines)`,
		},
		"bad entry type": {
			files: map[string]string{"menus/default.yaml": "entries:\n  - {name: a, type: shell}\n  - name: b\n    type: floppy\n"},
			want:  `menus/default.yaml:4: entry "b": unknown type "floppy"`,
		},
		"kernel entry without kernel": {
			files: map[string]string{"menus/default.yaml": "entries:\n  - name: a\n"},
			want:  `menus/default.yaml:2: entry "a": type kernel needs a kernel: key`,
		},
		"duplicate entry": {
			files: map[string]string{"menus/default.yaml": "entries:\n  - {name: a, type: shell}\n  - {name: a, type: exit}\n"},
			want:  `menus/default.yaml:3: entry "a" already defined at menus/default.yaml:2`,
		},
		"reserved entry name": {
			files: map[string]string{"menus/default.yaml": "entries:\n  - {name: bw-menu, type: shell}\n"},
			want:  `menus/default.yaml:2: entry name "bw-menu"`,
		},
		"broken template": {
			files: map[string]string{"menus/default.yaml": "entries:\n  - name: a\n    kernel: \"{{ .Vars.x \"\n"},
			want:  "menus/default.yaml:3 kernel",
		},
		"bad duration": {
			files: map[string]string{"menus/default.yaml": "timeout: soon\n" + minimalMenu[9:]},
			want:  `menus/default.yaml:1: invalid duration "soon"`,
		},
		"bad mac": {
			files: map[string]string{"menus/default.yaml": minimalMenu, "menus/machines.yaml": "machines:\n  - name: a\n    mac: 52:54:00:zz:00:01\n"},
			want:  `menus/machines.yaml:3: invalid MAC address "52:54:00:zz:00:01"`,
		},
		"duplicate mac in two forms": {
			files: map[string]string{"menus/default.yaml": minimalMenu, "menus/machines.yaml": "machines:\n  - mac: 52:54:00:00:00:01\n  - mac: 52-54-00-00-00-01\n"},
			want:  "menus/machines.yaml:3: machine 52:54:00:00:00:01 already defined at menus/machines.yaml:2",
		},
		"unknown menu": {
			files: map[string]string{"menus/default.yaml": minimalMenu, "menus/machines.yaml": "machines:\n  - mac: 52:54:00:00:00:01\n    menu: lab\n"},
			want:  `menus/machines.yaml:2: machine 52-54-00-00-00-01: no menu "lab"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Load(tree(tc.files))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadMachines(t *testing.T) {
	c, err := Load(tree(map[string]string{
		"menus/default.yaml":  minimalMenu,
		"menus/machines.yaml": "vars: {site: lab}\nmachines:\n  - mac: 5254.0012.3456\n    name: m1\n    timeout: 1s\n    args: a=b\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Machines[hw.MAC{0x52, 0x54, 0, 0x12, 0x34, 0x56}]
	if m == nil {
		t.Fatalf("machine not found by normalised MAC; have %v", c.Machines)
	}
	got := []any{m.Name, m.Menu, m.Timeout.Duration, m.Args, c.Vars["site"]}
	if diff := cmp.Diff([]any{"m1", "", time.Second, "a=b", "lab"}, got); diff != "" {
		t.Errorf("machine (-want +got):\n%s", diff)
	}
}

// TestReservedBy: an ip: in machines.yaml names its machine; other
// addresses name none.
func TestReservedBy(t *testing.T) {
	c, err := Load(tree(map[string]string{
		"menus/default.yaml": minimalMenu,
		"menus/machines.yaml": "machines:\n  - {mac: 52:54:00:00:00:01, ip: 10.0.0.5}\n" +
			"  - {mac: 52:54:00:00:00:02}\n  - {mac: 52:54:00:00:00:03, ip: 10.0.0.7}\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{"10.0.0.5": "52:54:00:00:00:01", "10.0.0.7": "52:54:00:00:00:03", "10.0.0.6": ""} {
		got := ""
		if m, ok := c.ReservedBy(netip.MustParseAddr(addr)); ok {
			got = m.MAC.String()
		}
		if got != want {
			t.Errorf("ReservedBy(%s) = %q, want %q", addr, got, want)
		}
	}
}

func TestDefaultsLoad(t *testing.T) {
	m := fstest.MapFS{}
	files, err := fs.Glob(Defaults(), "*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("embedded menus %v, %v; want default.yaml and the catalog", files, err)
	}
	for _, f := range files {
		data, err := fs.ReadFile(Defaults(), f)
		if err != nil {
			t.Fatal(err)
		}
		m["menus/"+f] = &fstest.MapFile{Data: data}
	}
	if _, err := Load(m); err != nil {
		t.Fatalf("embedded default menus do not load: %v", err)
	}
}

// TestTimeouts: 0s boots the default at once, never (or no timeout in
// the menu) waits for a choice; a group or machine overrides either way.
func TestTimeouts(t *testing.T) {
	type got struct {
		Timeout time.Duration
		Never   bool
	}
	for name, tc := range map[string]struct {
		menu, machine string
		want          got
	}{
		"no timeout waits":          {"", "", got{0, true}},
		"10s":                       {"timeout: 10s\n", "", got{10 * time.Second, false}},
		"0s boots at once":          {"timeout: 0s\n", "", got{0, false}},
		"never":                     {"timeout: never\n", "", got{0, true}},
		"machine's 0s over a never": {"timeout: never\n", ", timeout: 0s", got{0, false}},
		"machine's never over 5s":   {"timeout: 5s\n", ", timeout: never", got{0, true}},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Load(tree(map[string]string{
				"menus/default.yaml":  tc.menu + "entries:\n  - {name: local, type: local}\n",
				"menus/machines.yaml": "machines:\n  - {mac: '52:54:00:00:00:01', name: m" + tc.machine + "}\n",
			}))
			if err != nil {
				t.Fatal(err)
			}
			d, err := c.Resolve(Request{MAC: hw.MustParseMAC("52:54:00:00:00:01")}, Server{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got{d.Menu.Timeout, d.Menu.Never}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	_, err := Load(tree(map[string]string{"menus/default.yaml": "timeout: forever\nentries:\n  - {name: local, type: local}\n"}))
	if err == nil || !strings.Contains(err.Error(), `menus/default.yaml:1: invalid duration "forever" (want e.g. 10s or 1m, 0s to boot the default at once, or never to wait)`) {
		t.Errorf("timeout: forever: %v", err)
	}
}
