package templates_test

import (
	"bytes"
	"errors"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/route"
	"github.com/bootwright/bootwright/internal/token"
	"github.com/bootwright/bootwright/menus"
	"github.com/bootwright/bootwright/templates"
)

// The fuzz target lives in an external test package: it builds its data
// with menus and loads the templates through internal/bootconfig, both of
// which import templates.

// labMenu and toolsMenu sit beside the shipped default menu so that the
// shipped templates also meet chain, submenu, exit and asset entries, each
// field an entry template over the fuzzed variables.
const labMenu = `title: Lab
timeout: 3s
default: rescue
files: [kickstart.ks, preseed.cfg, autoinstall/, autounattend.xml, winpe/]
entries:
  - name: rescue
    title: 'Rescue {{ .Var "title" "" }} on {{ .Machine.Hostname }}'
    kernel: '{{ .Var "mirror" "rescue" }}/vmlinuz'
    initrds: ['{{ .Var "mirror" "rescue" }}/initrd.img', 'extra/{{ .Var "initrd" "initrd.img" }}']
    args: 'console=ttyS0 {{ .Var "args" "" }} inst.ks={{ .FileURL "kickstart.ks" }}'
  - name: more
    title: More tools
    type: menu
    menu: tools
  - name: chain
    title: 'Chain to {{ .Var "chain_url" "http://boot.example/menu.ipxe" }}'
    type: chain
    url: '{{ .Var "chain_url" "http://boot.example/menu.ipxe" }}'
  - type: assets
  - name: disk
    type: local
  - name: shell
    type: shell
  - name: quit
    type: exit
`

const toolsMenu = `title: Tools
entries:
  - name: memtest
    title: 'Memory test {{ .Var "title" "" }}'
    kernel: tools/memtest.bin
  - name: netboot
    type: chain
    url: '{{ .Var "mirror" "http://boot.example" }}/menu.ipxe'
  - name: leave
    type: exit
`

// machinesYAML is the menus/machines.yaml the fuzzer starts from: a
// group by MAC prefix and one machine in it. Each input then sets their
// variables and settings.
const machinesYAML = `groups:
  - name: lab
    match: {macs: ["52:54:00"]}
machines:
  - mac: 52:54:00:12:34:56
`

var (
	knownMAC = hw.MAC{0x52, 0x54, 0x00, 0x12, 0x34, 0x56} // listed in machines.yaml
	groupMAC = hw.MAC{0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc} // in the group, not listed
	otherMAC = hw.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x01} // neither
)

// menuTemplates are the menus a machine's boot loader reads.
var menuTemplates = []string{bootconfig.IPXEMenu, bootconfig.GRUBMenu, bootconfig.PXELinuxMenu, bootconfig.PiConfig, bootconfig.PiCmdline}

// fuzzServers are URLs a server may be reached by (--public-url is
// checked to be http://HOST[:PORT][/PATH] before anything renders).
var fuzzServers = []menus.Server{
	{URL: "http://10.231.0.1:8080", AssetsURL: "http://10.231.0.1:8080/assets", TFTPAssetsURL: "tftp://10.231.0.1/assets"},
	{URL: "http://[fd00::1]:8080/boot", AssetsURL: "http://[fd00::1]:8080/boot/assets"},
	{URL: "http://bootwright.lab", AssetsURL: "http://bootwright.lab/assets", TFTPAssetsURL: "tftp://bootwright.lab/assets"},
}

// renderSeeds are FuzzRender's seeds; each is tried with every template.
var renderSeeds = []struct {
	vars                                                            []byte
	name, hostname, labels, args, title, state, buildarch, platform string
	pick                                                            uint16
}{
	{nil, "", "", "", "", "", "", "x86_64", "efi", 0},
	{encodeVars(
		map[string]any{"debian_mirror": "http://deb.debian.org/debian", "timezone": "Europe/Berlin"},
		map[string]any{"fedora_mirror": "http://mirror.example/fedora", "fedora_release": 40},
		map[string]any{"ssh_authorized_keys": []any{"ssh-ed25519 AAAAC3Nz admin@lab"}, "packages": []any{"vim", "curl"},
			"user_password_hash": "$6$salt$hash", "root_password_hash": "$y$j9T$abc$def", "install_disk": "/dev/vda"}),
		"vm-bios", "vm-bios.lab.example", "rack1,gpu", "console=ttyS0", "Test OS", "installing", "i386", "pcbios", 0b0_0000_0010_0000},
	{encodeVars(nil, nil, map[string]any{
		"ubuntu_casper": "ubuntu-24.04", "ubuntu_iso": "http://10.0.0.1/ubuntu.iso", "ubuntu_mirror": "http://archive.ubuntu.com/ubuntu",
		"windows_admin_password": "p<a>&'\"ss", "windows_image_name": "Windows 11 Pro", "windows_product_key": "XXXXX-XXXXX",
		"windows_share": `\\fs.lab\win11`, "windows_share_user": `LAB\deploy`,
		"title": "it's \"quoted\"", "chain_url": "http://boot.example/menu.ipxe?a=1&b=2", "mirror": "http://m.example",
		"debian_security_mirror": "https://security.example/debian-security", "domain": "lab.example", "debian_proxy": "http://proxy:3128/"}),
		"win11", "WIN-BUILD-01.corp", "", "quiet", "Rescue's kernel", "installed", "x86_64", "efi", 0b0_1001_1011_1101},
	// Values no quoting makes safe: NUL, newlines, quotes, template
	// syntax, a trailing backslash, bytes that are not UTF-8.
	{encodeVars(
		map[string]any{"locale": "en\x00US", "keyboard": "us\nrootpw --plaintext x", "title": "{{ .Vars }}\x00", "args": "a\x00b"},
		map[string]any{"username": "root'; rm -rf /", "domain": "x\\", "chain_url": "http://x/\x00"},
		map[string]any{"packages": []any{"ok", nil, 3, map[string]any{"k": "v"}}, "ssh_authorized_keys": "not a list",
			"mirror": "http://a b/", "windows_image_index": nil, "install_disk": "\xff\xfe", "timezone": math.Inf(1)}),
		"bad name!", "host\x00name\n\"quoted\" {{ .x }}", "ok,{{bad}}", "a\nb", "Title\x00\x01\x1b[31m", "\x00installed", "x86_64\x00", "efi\n", 0xffff},
	// Numbers where lists belong: ranged over, 1<<40 was 0 to 1<<40-1.
	{encodeVars(nil, map[string]any{"packages": 1 << 40}, map[string]any{"ssh_authorized_keys": 1 << 40}),
		"", "", "", "", "", "", "x86_64", "efi", 0},
	// A 16 KiB variable, a long hostname and asset title.
	{[]byte{2, 0xff, 3, 'k', 'e', 'y', tagLong, 0xff, 0xff, 4, 'l', 'o', 'n', 'g'},
		"long", strings.Repeat("h", 300), "", "", strings.Repeat("t", 250), "", "arm64", "efi", 0b0_0110_0000_0001},
}

// FuzzRender renders every shipped template (the iPXE boot script and
// menu, the GRUB and pxelinux menus, a Raspberry Pi's config.txt and
// cmdline.txt, every per-machine file under
// templates/files/) through bootconfig's Bundle, as the server does, for
// a machine whose variables, name, hostname, labels, settings, install
// state, asset folders and iPXE buildarch and platform come from the
// fuzzer. Rendering may fail, but never panic; and what renders holds no
// NUL byte: a boot loader reads its menu line by line (a NUL ends the
// line early), and the answer files quote or refuse control characters.
//
// pick's bits choose among settings the config and server may have:
// 0-1 the MAC (the listed machine, another in its group, one in neither),
// 2 and 3 menu lab for the machine and for its group, 4 secure_boot,
// 5-6 the install entry, 7 the installer callback, 8 the file token,
// 9-10 the timeout, 11 default local, 12 loader grub, 13-15 the server's
// URL; 8-15 are also the client's address. which picks the template.
func FuzzRender(f *testing.F) {
	// The shipped defaults with labMenu, toolsMenu and machinesYAML
	// layered on top, the way the server layers a config directory.
	base, err := bootconfig.LoadOver(fstest.MapFS{
		"menus/machines.yaml": {Data: []byte(machinesYAML)},
		"menus/lab.yaml":      {Data: []byte(labMenu)},
		"menus/tools.yaml":    {Data: []byte(toolsMenu)},
	}, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	names := base.Templates.Names()
	slices.Sort(names)
	for _, name := range names {
		if name != bootconfig.BootScript && name != bootconfig.IPXEFailed && !slices.Contains(menuTemplates, name) && !slices.Contains(chainTemplates, name) &&
			!strings.HasPrefix(name, bootconfig.FilesDir+"/") {
			f.Fatalf("shipped template %s%s is not rendered by FuzzRender", name, templates.Ext)
		}
	}
	for _, s := range renderSeeds {
		for i := range names {
			f.Add(s.vars, s.name, s.hostname, s.labels, s.args, s.title, s.state, s.buildarch, s.platform, s.pick, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, vars []byte, name, hostname, labels, args, title, state, buildarch, platform string, pick uint16, which uint8) {
		for _, s := range []string{string(vars), name, hostname, labels, args, title, state, buildarch, platform} {
			if len(s) > maxInput {
				return
			}
		}
		b := &bootconfig.Bundle{Dir: base.Dir, Templates: base.Templates,
			Menus: fuzzConfig(base.Menus, (&decoder{b: vars}).vars(), name, hostname, labels, args, pick)}
		assets, err := menus.ScanAssets(fstest.MapFS{
			"fuzzos/vmlinuz":      {Data: []byte("kernel")},
			"fuzzos/initrd.img":   {Data: []byte("initrd")},
			"fuzzos/title":        {Data: []byte(title)},
			"fuzzos/cmdline":      {Data: []byte(args)},
			"other/vmlinuz-6.1.0": {Data: []byte("kernel")},
			"other/initramfs.img": {Data: []byte("initrd")},
		})
		if err != nil {
			t.Fatal(err)
		}
		srv := fuzzServers[int(pick>>13)%len(fuzzServers)]
		req := fuzzRequest(srv, state, buildarch, platform, pick)
		// One template per input: rendering all of them would take several
		// times as long, and the fuzzer varies which as it varies the rest.
		tmpl := names[int(which)%len(names)]
		var out []byte
		switch {
		case tmpl == bootconfig.BootScript:
			out, err = b.RenderBootScript(srv)
		case tmpl == bootconfig.IPXEFailed:
			out, err = b.RenderFailed(bootconfig.Failed{Server: srv, MAC: req.MAC.String(), Entry: name, Title: title,
				Reasons: []string{args, hostname}, Timeline: srv.URL + route.MachinePagePath(req.MAC)})
		case slices.Contains(menuTemplates, tmpl):
			out, _, err = b.RenderMenu(tmpl, req, srv, assets)
		case slices.Contains(chainTemplates, tmpl):
			out, err = b.RenderChain(tmpl, bootconfig.Chain{Server: srv, TFTP: "tftp://10.231.0.1/", Address: "10.231.0.1",
				Files: map[string]bootconfig.ChainFile{"i386": {Name: "pxelinux.0", Package: "pxelinux"},
					"x86_64": {Name: "grubx64.efi", Package: "grub-efi-amd64-signed"}, "arm64": {Name: "grubaa64.efi", Package: "grub-efi-arm64-signed"}},
				Fallback: srv.URL + "/boot.ipxe"})
		default:
			out, _, err = b.RenderFile(strings.TrimPrefix(tmpl, bootconfig.FilesDir+"/"), req, srv, assets)
			if errors.Is(err, bootconfig.ErrFileNotAllowed) || errors.Is(err, bootconfig.ErrNoSuchFile) {
				t.Fatalf("%s was not rendered: %v", tmpl, err) // both menus list every file
			}
		}
		if err == nil && bytes.IndexByte(out, 0) >= 0 {
			t.Fatalf("%s holds a NUL byte:\n%q", tmpl, out)
		}
	})
}

// chainTemplates take server data only (bootconfig.Chain).
var chainTemplates = []string{bootconfig.ChainPXELinux, bootconfig.ChainGRUB, bootconfig.GRUBDispatch}

// fuzzRequest is the request of the machine pick chooses, with the
// installer callback and file token the server would give it.
func fuzzRequest(srv menus.Server, state, buildarch, platform string, pick uint16) menus.Request {
	mac := []hw.MAC{knownMAC, groupMAC, otherMAC, knownMAC}[pick&3]
	req := menus.Request{MAC: mac, Arch: hw.ArchFromIPXE(buildarch, platform), BuildArch: buildarch, Platform: platform,
		ClientIP: netip.AddrFrom4([4]byte{10, 231, 0, byte(pick >> 8)}), State: state}
	signer := token.Signer{Key: []byte("fuzz")}
	t := token.Token{MAC: mac, Issued: time.UnixMilli(1_800_000_000_000), Addr: req.ClientIP}
	if pick&(1<<7) != 0 {
		req.Callback = srv.URL + route.InstalledPath(mac, signer.Mint(token.Installed, t))
	}
	if pick&(1<<8) != 0 {
		req.FileToken = signer.Mint(token.Files, t)
	}
	return req
}

// fuzzConfig returns a copy of base (loaded once: parsing the menus for
// every input would be most of the work) with the fuzzed variables and
// machine fields in place of its own. The copy shares base's menus, which
// Resolve only reads. Variables are set directly: they are any of the
// values a YAML document decodes to, so loading them would change
// nothing. The machine's name, labels and args are checked as loading
// machines.yaml checks them (validMachine) and left out when refused.
func fuzzConfig(base *menus.Config, v [3]map[string]any, name, hostname, labels, args string, pick uint16) *menus.Config {
	c := *base
	c.Vars = v[0]
	c.Groups = slices.Clone(base.Groups)
	g := &c.Groups[0]
	g.Vars = v[1]
	if pick&(1<<3) != 0 {
		g.Menu = "lab"
	}
	m := *base.Machines[knownMAC]
	c.Machines = map[hw.MAC]*menus.Machine{knownMAC: &m}
	m.Hostname, m.Vars = hostname, v[2]
	if valid := validMachine(name, labels, args); valid != nil {
		m.Name, m.Labels, m.Args = valid.Name, valid.Labels, valid.Args
	}
	if pick&(1<<2) != 0 {
		m.Menu = "lab"
	}
	if pick&(1<<4) != 0 {
		m.SecureBoot = new(true)
	}
	m.Install = []string{"", "debian-12-installer", "rescue", "no-such-entry"}[pick>>5&3]
	if i := pick >> 9 & 3; i > 0 {
		m.Timeout = &menus.Duration{Duration: []time.Duration{0, 0, 1500 * time.Millisecond, math.MaxInt64}[i]}
	}
	if pick&(1<<11) != 0 {
		m.Default = "local"
	}
	if pick&(1<<12) != 0 {
		m.Loader = menus.LoaderGRUB
	}
	return &c
}

// validMachines remembers validMachine's answers by name, labels and
// args: the fuzzer mostly changes one argument at a time, and loading is
// a third of the work of an input.
var validMachines struct {
	sync.Mutex
	m map[[3]string]*menus.Machine
}

// validMachine loads a machines.yaml holding one machine with name, labels
// (split at commas) and args, and returns that machine, or nil when
// menus.Load refuses it.
func validMachine(name, labels, args string) *menus.Machine {
	if name == "" && labels == "" && args == "" {
		return nil
	}
	key := [3]string{name, labels, args}
	validMachines.Lock()
	defer validMachines.Unlock()
	if m, ok := validMachines.m[key]; ok {
		return m
	}
	if len(validMachines.m) >= 4096 || validMachines.m == nil {
		validMachines.m = map[[3]string]*menus.Machine{}
	}
	m := loadMachine(name, labels, args)
	validMachines.m[key] = m
	return m
}

func loadMachine(name, labels, args string) *menus.Machine {
	m := map[string]any{"mac": knownMAC.String(), "name": name, "args": args}
	if labels != "" {
		m["labels"] = strings.Split(labels, ",")
	}
	doc, err := yaml.Marshal(map[string]any{"machines": []map[string]any{m}})
	if err != nil {
		return nil
	}
	c, err := menus.Load(fstest.MapFS{
		"menus/default.yaml":  {Data: []byte("entries: [{name: local, type: local}]\n")},
		"menus/machines.yaml": {Data: doc},
	})
	if err != nil {
		return nil
	}
	return c.Machines[knownMAC]
}
