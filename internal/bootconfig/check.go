package bootconfig

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/menus"
)

// Problem is one thing Check found wrong, with the machines it affects.
type Problem struct {
	Msg      string   // starts with file:line when one is known
	Machines []string // the machines (or stand-ins) that hit it, in order
	Arches   map[string][]string
}

// String formats the problem on one line: the message, then the machines
// that hit it, each with the arches it failed under unless it failed
// under all of them.
func (p Problem) String() string {
	var who []string
	for _, m := range p.Machines {
		if a := slices.DeleteFunc(slices.Clone(p.Arches[m]), func(s string) bool { return s == "" }); len(a) > 0 && len(a) < len(hw.Families()) {
			m += " (" + strings.Join(a, ", ") + ")"
		}
		who = append(who, m)
	}
	if len(who) > 4 {
		who = append(who[:4], fmt.Sprintf("%d more", len(who)-4))
	}
	return fmt.Sprintf("%s [%s]", p.Msg, strings.Join(who, ", "))
}

// CheckOptions says what Check renders against.
type CheckOptions struct {
	Server menus.Server     // URLs to render with
	Assets []menus.AssetDir // asset folders, when known
	// FileCheck validates a rendered per-machine file and returns problems
	// as "line N: message" strings; nil skips content checks.
	FileCheck func(name string, content []byte) []string
}

// Check renders every menu template and every per-machine file for every
// listed machine, for a stand-in machine of every group, and for an
// unknown machine, each under every arch. It returns errors (the server
// would answer 500) and warnings (such as a default entry that is missing,
// which may be an asset folder that exists only on the server).
func (b *Bundle) Check(opts CheckOptions) (errs, warnings []Problem) {
	c := &checker{b: b, opts: opts, errs: map[string]*Problem{}, warns: map[string]*Problem{}}
	for _, t := range b.checkTargets() {
		for _, a := range hw.Families() {
			buildarch, platform := a.IPXE()
			req := menus.Request{MAC: t.mac, Arch: a, BuildArch: buildarch, Platform: platform, ClientIP: t.ip}
			c.run(req, t.name, a)
		}
	}
	c.chains()
	warnings = c.sorted(c.warns, c.warnOrder)
	for _, msg := range plaintextSecrets(b.Menus) {
		warnings = append(warnings, Problem{Msg: msg, Machines: []string{"config"}, Arches: map[string][]string{}})
	}
	return c.sorted(c.errs, c.errOrder), warnings
}

type checkTarget struct {
	name string
	mac  hw.MAC
	ip   netip.Addr
}

// checkTargets lists the machines to render: every listed machine, one
// stand-in per group (its MAC prefix, an address in its subnet) and an
// unknown machine.
func (b *Bundle) checkTargets() []checkTarget {
	var out []checkTarget
	for _, m := range b.Menus.Machines {
		out = append(out, checkTarget{name: "machine " + m.Name, mac: m.MAC.MAC, ip: m.IP.Addr})
	}
	for _, g := range b.Menus.Groups {
		t := checkTarget{name: "group " + g.Name, mac: hw.MAC{0x02, 0, 0, 0, 0, 0}}
		if len(g.Match.MACs) > 0 {
			if h, err := hw.HexPrefix(g.Match.MACs[0]); err == nil {
				t.mac, _ = hw.MACFromHexPrefix(h)
			}
		}
		if g.Match.Subnet != nil {
			t.ip = g.Match.Subnet.Addr().Next()
		}
		out = append(out, t)
	}
	out = append(out, checkTarget{name: "unknown machine", mac: hw.MAC{0x02, 0xbe, 0xef, 0, 0, 0}})
	slices.SortStableFunc(out, func(a, b checkTarget) int { return strings.Compare(a.name, b.name) })
	return out
}

type checker struct {
	b                   *Bundle
	opts                CheckOptions
	errs, warns         map[string]*Problem
	errOrder, warnOrder []string
}

func (c *checker) add(m map[string]*Problem, order *[]string, msg, who string, a hw.Arch) {
	arch := a.String()
	p, ok := m[msg]
	if !ok {
		p = &Problem{Msg: msg, Arches: map[string][]string{}}
		m[msg] = p
		*order = append(*order, msg)
	}
	if !slices.Contains(p.Machines, who) {
		p.Machines = append(p.Machines, who)
	}
	if !slices.Contains(p.Arches[who], arch) {
		p.Arches[who] = append(p.Arches[who], arch)
	}
}

func (c *checker) sorted(m map[string]*Problem, order []string) []Problem {
	var out []Problem
	for _, k := range order {
		out = append(out, *m[k])
	}
	return out
}

// run renders everything for one request.
func (c *checker) run(req menus.Request, who string, arch hw.Arch) {
	var data *menus.Data
	for _, tmpl := range []string{IPXEMenu, GRUBMenu, PXELinuxMenu} {
		_, d, err := c.b.RenderMenu(tmpl, req, c.opts.Server, c.opts.Assets)
		if err != nil {
			c.add(c.errs, &c.errOrder, err.Error(), who, arch)
			continue
		}
		data = d
	}
	if data == nil {
		return
	}
	for _, n := range data.Notes {
		c.add(c.warns, &c.warnOrder, n, who, arch)
	}
	for _, err := range data.Errors {
		c.add(c.errs, &c.errOrder, err.Error(), who, arch)
	}
	// Only x86-64 UEFI firmware is sent shim; elsewhere secure_boot
	// changes nothing.
	if arch == hw.ArchEFIx64 {
		for _, p := range data.SecureBootProblems() {
			c.add(c.errs, &c.errOrder, p, who, arch)
		}
	}
	if arch == hw.ArchEFIARM64 && data.Loader == menus.LoaderRaspberryPi {
		c.raspberryPi(req, data, who)
	}
	for _, ref := range data.FileRefs() {
		if !data.AllowsFile(ref) {
			c.add(c.errs, &c.errOrder, fmt.Sprintf("a menu entry uses FileURL %q, but menu %s does not list it under files:", ref, data.Menu.Name), who, arch)
		}
	}
	for _, name := range c.fileNames(data) {
		out, _, err := c.b.RenderFile(name, req, c.opts.Server, c.opts.Assets)
		if err != nil {
			c.add(c.errs, &c.errOrder, err.Error(), who, arch)
			continue
		}
		if c.opts.FileCheck == nil {
			continue
		}
		for _, p := range c.opts.FileCheck(name, out) {
			c.add(c.errs, &c.errOrder, fmt.Sprintf("%s/%s/%s (rendered) %s", "templates", FilesDir, name, p), who, arch)
		}
	}
}

// raspberryPi checks what a Pi is served: its entry's efi-arm64 files
// over TFTP, and config.txt and cmdline.txt rendered. A local-disk
// default is no problem (the Pi boots its next boot mode).
func (c *checker) raspberryPi(req menus.Request, data *menus.Data, who string) {
	if _, err := data.RaspberryPi(); err != nil {
		if !errors.Is(err, menus.ErrLocalBoot) {
			c.add(c.errs, &c.errOrder, err.Error(), who, hw.ArchEFIARM64)
		}
		return
	}
	for _, tmpl := range []string{PiConfig, PiCmdline} {
		if _, _, err := c.b.RenderMenu(tmpl, req, c.opts.Server, c.opts.Assets); err != nil {
			c.add(c.errs, &c.errOrder, err.Error(), who, hw.ArchEFIARM64)
		}
	}
}

// fileNames expands the machine's allowed files (folders included) to the
// templates that exist; a listed file without a template is an error.
func (c *checker) fileNames(d *menus.Data) []string {
	var names []string
	for _, f := range d.Files() {
		if strings.HasSuffix(f, "/") {
			for _, t := range c.b.Templates.Names() {
				if n, ok := strings.CutPrefix(t, FilesDir+"/"+f); ok && n != "" {
					names = append(names, f+n)
				}
			}
			continue
		}
		names = append(names, f)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// chains renders the chain templates and GRUB's dispatch file with the
// data the server gives them, so a broken override is refused with its
// file and line like any other template.
func (c *checker) chains() {
	data := Chain{Server: c.opts.Server, TFTP: "tftp://192.0.2.1/", Address: "192.0.2.1",
		Files:    map[string]ChainFile{"i386": {"loader.0", "a-package"}, "x86_64": {"loader.efi", "a-package"}},
		Fallback: c.opts.Server.URL + "/boot.ipxe"}
	for _, tmpl := range []string{ChainPXELinux, ChainGRUB, GRUBDispatch} {
		if _, err := c.b.RenderChain(tmpl, data); err != nil {
			c.add(c.errs, &c.errOrder, err.Error(), "config", hw.ArchUnknown)
		}
	}
}
