package menus

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"path"
	"strings"

	"github.com/bootwright/bootwright/templates"
)

// effective is the outcome of merging defaults, group and machine.
type effective struct {
	menu, def, args, loader, install, access string
	timeout                                  *Duration
	files                                    []string
	secureBoot                               bool
}

// prepare builds the data for the machine in req without its menu: the
// machine, its group, merged variables and settings.
func (c *Config) prepare(req Request, srv Server) (*Data, effective) {
	d := &Data{Server: srv, Request: req, Vars: maps.Clone(c.defaults.vars), Loader: LoaderIPXE, Callback: req.Callback,
		mirrors: c.defaults.mirrors}
	if d.Vars == nil {
		d.Vars = map[string]any{}
	}
	maps.Copy(d.Vars, c.Vars)
	mac := req.MAC.String()
	d.Machine = MachineData{Name: req.MAC.URL(), MAC: mac}
	m := c.Machines[req.MAC]
	t := c.targetOf(req.MAC, req.Arch, req.ClientIP)
	if m != nil {
		d.Machine = MachineData{Name: m.Name, Hostname: m.Hostname, MAC: mac, Known: true, Labels: m.Labels}
		if m.IP.IsValid() {
			d.Machine.IP = m.IP.String()
		}
	}
	if d.Machine.Hostname == "" {
		d.Machine.Hostname = d.Machine.Name
	}
	eff := effective{menu: DefaultMenu}
	layers := []*Settings{}
	if g := c.groupFor(t); g != nil {
		d.Machine.Group = g.Name
		layers = append(layers, &g.Settings)
	}
	if m != nil {
		layers = append(layers, &m.Settings)
	}
	for _, s := range layers {
		eff.apply(s)
		maps.Copy(d.Vars, s.Vars)
	}
	if eff.loader != "" {
		d.Loader = eff.loader
	}
	d.SecureBoot = eff.secureBoot
	d.FileAccess = FileAccessMachine
	if eff.access != "" {
		d.FileAccess = eff.access
	}
	return d, eff
}

func (e *effective) apply(s *Settings) {
	if s.Menu != "" {
		e.menu = s.Menu
	}
	if s.Default != "" {
		e.def = s.Default
	}
	if s.Timeout != nil {
		e.timeout = s.Timeout
	}
	if s.Loader != "" {
		e.loader = s.Loader
	}
	if s.SecureBoot != nil {
		e.secureBoot = *s.SecureBoot
	}
	if s.Install != "" {
		e.install = s.Install
	}
	if s.FileAccess != "" {
		e.access = s.FileAccess
	}
	e.args = joinArgs(e.args, s.Args)
	e.files = append(e.files, s.Files...)
}

// FileAccess returns the file_access setting in force for the machine in
// req (FileAccessMachine unless its group or entry says otherwise),
// without resolving its menu.
func (c *Config) FileAccess(req Request) string {
	_, eff := c.prepare(req, Server{})
	return cmp.Or(eff.access, FileAccessMachine)
}

// Resolve builds the data for the machine in req: its group, merged
// variables (defaults < group < machine) and its menu with entries
// expanded from asset folders and templates executed. An unknown MAC gets
// the default menu, or its group's.
func (c *Config) Resolve(req Request, srv Server, assets []AssetDir) (*Data, error) {
	d, eff := c.prepare(req, srv)
	d.files = eff.files
	menu := c.Menus[eff.menu]
	md, err := d.resolveMenu(c, menu, "", eff.args, assets)
	if err != nil {
		return nil, err
	}
	d.Menu = *md
	eff.def = d.installDefault(eff)
	if eff.def != "" {
		if l, ok := md.labelOf(eff.def); ok {
			d.Menu.Default = l
		} else {
			d.Notes = append(d.Notes, fmt.Sprintf("machine %s: default entry %q is not in menu %q", d.Machine.Name, eff.def, menu.Name))
		}
	}
	if eff.timeout != nil {
		d.Menu.Timeout, d.Menu.Never = eff.timeout.Duration, eff.timeout.Never
	}
	if req.NoToken != "" && d.FileAccess != FileAccessOpen {
		d.Notes = append(d.Notes, "answer-file URLs carry no token, so they are refused (403): "+req.NoToken)
	}
	return d, nil
}

// installDefault applies install once: with an install entry, the
// default is that entry until the machine is installed, then its first
// local-disk entry.
func (d *Data) installDefault(eff effective) string {
	if eff.install == "" {
		return eff.def
	}
	install, ok := d.Menu.labelOf(eff.install)
	if !ok && d.noArch[eff.install[strings.LastIndex(eff.install, ".")+1:]] {
		// The entry is there, for other arches: on this one the machine
		// has nothing to install and boots its default.
		d.Notes = append(d.Notes, fmt.Sprintf("machine %s: install entry %q boots nothing on %s; its default is booted", d.Machine.Name, eff.install, d.Request.Arch))
		return eff.def
	}
	if !ok {
		d.Errors = append(d.Errors, fmt.Errorf("machine %s: install entry %q is not in menu %q", d.Machine.Name, eff.install, d.Menu.Name))
		return eff.def
	}
	if d.Request.State != "installed" {
		return install
	}
	for _, e := range d.Menu.Entries {
		if e.Type == TypeLocal {
			return e.Label
		}
	}
	d.Notes = append(d.Notes, fmt.Sprintf("machine %s is installed but its menu %q has no local entry to boot instead of %q", d.Machine.Name, d.Menu.Name, eff.install))
	return eff.def
}

// resolveMenu expands menu and its submenus; prefix is the label prefix.
func (d *Data) resolveMenu(c *Config, menu *Menu, prefix, extraArgs string, assets []AssetDir) (*MenuData, error) {
	md := &MenuData{Name: menu.Name, Title: menu.Title, Never: true}
	if t := menu.Timeout; t != nil {
		md.Timeout, md.Never = t.Duration, t.Never
	}
	d.files = append(d.files, menu.Files...)
	seen := map[string]bool{}
	for i := range menu.Entries {
		e := &menu.Entries[i]
		es, err := d.expand(e, extraArgs, assets)
		if err != nil {
			// One broken entry must not take the machine's menu down: it
			// is left out and reported (check and reload refuse it).
			d.Errors = append(d.Errors, err)
			continue
		}
		for _, r := range es {
			if seen[r.Name] {
				d.Notes = append(d.Notes, fmt.Sprintf("%s: entry %q appears twice (an assets folder named like an entry?); the first is kept", menu.File, r.Name))
				continue
			}
			r.Label = prefix + r.Name
			if r.Type == TypeMenu {
				sub, err := d.resolveMenu(c, c.Menus[e.Menu], r.Label+".", extraArgs, assets)
				if err != nil {
					return nil, err
				}
				if sub == nil {
					continue // nothing in it for this machine: left out
				}
				r.Submenu = sub
			}
			seen[r.Name] = true
			md.Entries = append(md.Entries, r)
		}
	}
	if len(md.Entries) == 0 {
		if prefix != "" {
			return nil, nil // an empty submenu is left out of its parent
		}
		return nil, fmt.Errorf("%s: menu %q has no entries for %s", menu.File, menu.Name, d.Machine.MAC)
	}
	md.Default = md.Entries[0].Label
	if menu.Default != "" {
		if md.has(prefix + menu.Default) {
			md.Default = prefix + menu.Default
		} else {
			d.Notes = append(d.Notes, fmt.Sprintf("%s: default entry %q is not in the menu", menu.File, menu.Default))
		}
	}
	return md, nil
}

// has reports whether label names an entry of m or of its submenus.
func (m *MenuData) has(label string) bool { return m.find(label) != nil }

// labelOf returns the label of the entry that a machine's default or
// install setting names: a label ("install.debian-13") or the name of an
// entry that is the only one so named in the menu tree ("debian-13",
// which may sit in a submenu).
func (m *MenuData) labelOf(ref string) (string, bool) {
	if m.has(ref) {
		return ref, true
	}
	var found []string
	var walk func(*MenuData)
	walk = func(md *MenuData) {
		for i := range md.Entries {
			e := &md.Entries[i]
			if e.Submenu != nil {
				walk(e.Submenu)
			} else if e.Name == ref {
				found = append(found, e.Label)
			}
		}
	}
	walk(m)
	if len(found) == 1 {
		return found[0], true
	}
	return "", false
}

// NestedDefault returns the default entry when it sits in a submenu, so
// that a menu template can offer it on the first screen too (a choice
// can only default to one of its own items); nil otherwise.
func (m MenuData) NestedDefault() *ResolvedEntry {
	for _, e := range m.Entries {
		if e.Label == m.Default {
			return nil
		}
	}
	return m.find(m.Default)
}

// expand turns one configured entry into zero or more resolved entries.
func (d *Data) expand(e *Entry, extraArgs string, assets []AssetDir) ([]ResolvedEntry, error) {
	if e.Type == TypeAssets {
		var out []ResolvedEntry
		for _, a := range assets {
			files, ok := a.filesFor(d.Request.Arch.Family())
			if !ok {
				continue // no kernel for this arch in the folder
			}
			base := d.Server.AssetsURL + "/" + url.PathEscape(a.Name) + "/"
			r := ResolvedEntry{Name: a.Name, Title: a.Title, Type: TypeKernel, Kernel: base + escapePath(files.Kernel),
				Args: joinArgs(a.Args, extraArgs)}
			for _, f := range files.Initrds {
				r.Initrds = append(r.Initrds, Initrd{Name: path.Base(f), URL: base + escapePath(f)})
			}
			// A folder's title and cmdline files are read as they are
			// (only whitespace is folded): a NUL or another control
			// character in them must not reach a boot script. Such a
			// folder is left out, like an entry that fails to expand.
			if err := checkResolved(func(string) string { return "assets/" + a.Name }, r); err != nil {
				d.Errors = append(d.Errors, err)
				continue
			}
			out = append(out, r)
		}
		return out, nil
	}
	for _, v := range e.Needs {
		if s := fmt.Sprint(d.Vars[v]); d.Vars[v] == nil || s == "" {
			return nil, nil
		}
	}
	var err error
	// key is the field's key in the entry, for the line errors name.
	exec := func(key string, t templates.Text) string {
		s, xerr := t.Execute(d)
		if xerr != nil && err == nil {
			err = fmt.Errorf("%s: entry %q: %w", e.posOf(key), e.Name, xerr)
		}
		return s
	}
	r := ResolvedEntry{Name: e.Name, Title: exec("title", e.tpl.title), Help: exec("help", e.tpl.help), Type: e.Type}
	switch e.Type {
	case TypeKernel, TypeWimboot:
		ab, ok := e.bootFor(d.Request.Arch.Family())
		if !ok {
			if d.noArch == nil {
				d.noArch = map[string]bool{}
			}
			d.noArch[e.Name] = true
			return nil, nil // nothing for this arch: left out
		}
		sums := exec("sums", ab.sums)
		r.Sums = sums
		r.Kernel = d.cached(e, "kernel", d.assetURL(exec("kernel", ab.kernel)), sums, &err)
		for i, t := range ab.initrds {
			u := d.assetURL(exec(initrdKey(i), t))
			r.Initrds = append(r.Initrds, Initrd{Name: initrdName(u, r.Initrds), URL: d.cached(e, initrdKey(i), u, sums, &err)})
		}
		r.Args = exec("args", e.tpl.args)
		if e.Type == TypeKernel { // wimboot dies on arguments it does not know
			r.Args = joinArgs(r.Args, extraArgs)
		}
	case TypeChain:
		r.URL = exec("url", e.tpl.url)
	}
	if err != nil {
		return nil, err
	}
	if err := checkResolved(e.posOf, r); err != nil {
		return nil, err
	}
	return []ResolvedEntry{r}, nil
}

// cached returns the URL to serve u from: this server's download cache
// for an entry with cache: true, sha256 sums or a checksum list (sums),
// else u itself. The first error, naming the line of the entry's key, is
// kept in *errp.
func (d *Data) cached(e *Entry, key, u, sums string, errp *error) string {
	if !e.Cache && len(e.SHA256) == 0 && sums == "" || d.Server.Cache == nil || u == "" || d.ownURL(u) {
		return u
	}
	sum := ""
	if pu, err := url.Parse(u); err == nil {
		sum = e.SHA256[path.Base(pu.Path)]
	}
	p, err := d.Server.Cache(u, sum, sums)
	if err != nil {
		if *errp == nil {
			*errp = fmt.Errorf("%s: entry %q: %w", e.posOf(key), e.Name, err)
		}
		return u
	}
	return d.Server.URL + p
}

// ownURL reports whether u is served by this server (its files, assets,
// memtest86+), which the download cache must not fetch.
func (d *Data) ownURL(u string) bool {
	return strings.HasPrefix(u, d.Server.URL+"/") || d.Server.FilesURL != "" && strings.HasPrefix(u, d.Server.FilesURL+"/")
}

// assetURL makes a path without a scheme relative to the assets URL.
func (d *Data) assetURL(s string) string {
	if s == "" || strings.Contains(s, "://") {
		return s
	}
	return d.Server.AssetsURL + "/" + strings.TrimLeft(s, "/")
}

// initrdName is the file name of an initrd URL, prefixed with its index
// when an earlier initrd already has that name.
func initrdName(u string, earlier []Initrd) string {
	name := "initrd"
	if pu, err := url.Parse(u); err == nil && pu.Path != "" && !strings.HasSuffix(pu.Path, "/") {
		name = path.Base(pu.Path)
	}
	for _, e := range earlier {
		if e.Name == name {
			return fmt.Sprintf("%d-%s", len(earlier), name)
		}
	}
	return name
}

func joinArgs(a, b string) string { return strings.TrimSpace(a + " " + b) }

// checkResolved refuses values that would break out of their line in a
// boot script or are missing after expansion; pos gives the "file:line"
// of an entry's key ("title", "initrds[0]").
func checkResolved(pos func(key string) string, r ResolvedEntry) error {
	bad := func(v string, spaces bool) bool {
		return strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f || (!spaces && c == ' ') })
	}
	type field struct {
		key, name, v string
		spaces       bool
	}
	fields := []field{{"title", "title", r.Title, true}, {"help", "help", r.Help, true}, {"kernel", "kernel", r.Kernel, false},
		{"args", "args", r.Args, true}, {"url", "url", r.URL, false}}
	for i, in := range r.Initrds {
		fields = append(fields, field{initrdKey(i), "initrd", in.URL, false})
	}
	for _, f := range fields {
		if bad(f.v, f.spaces) {
			return fmt.Errorf("%s: entry %q: %s %q has a control character or space after expansion", pos(f.key), r.Name, f.name, f.v)
		}
	}
	switch {
	case bootsKernel(r.Type) && r.Kernel == "":
		return fmt.Errorf("%s: entry %q: kernel or url is empty after expansion", pos("kernel"), r.Name)
	case r.Type == TypeChain && r.URL == "":
		return fmt.Errorf("%s: entry %q: kernel or url is empty after expansion", pos("url"), r.Name)
	}
	return nil
}
