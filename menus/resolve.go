package menus

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/bootwright/bootwright/templates"
)

// Request describes the client asking for a menu.
type Request struct {
	MAC      net.HardwareAddr
	Arch     string     // iPXE ${buildarch}: i386, x86_64, arm64
	Platform string     // iPXE ${platform}: pcbios, efi
	ClientIP netip.Addr // the address the request came from
}

// Server holds the URLs clients reach this server by.
type Server struct {
	URL       string // public base URL, no trailing slash
	AssetsURL string // URL of the assets directory, no trailing slash
}

// Data is everything a menu or answer-file template sees for one machine.
type Data struct {
	Server  Server
	Request Request
	Machine MachineData
	Menu    MenuData
	Vars    map[string]any
	// Notes are problems found while resolving that did not stop it, such
	// as a default entry that does not exist. They are logged and written
	// into rendered menus as comments.
	Notes []string
}

// MachineData is the machine part of Data.
type MachineData struct {
	Name     string
	Hostname string
	MAC      string // 52:54:00:12:34:56
	Known    bool   // listed in machines.yaml
}

// MenuData is a resolved menu: entries expanded and filtered.
type MenuData struct {
	Name    string
	Title   string
	Timeout time.Duration
	Default string
	Entries []ResolvedEntry
}

// ResolvedEntry is an entry with its templates executed.
type ResolvedEntry struct {
	Name, Title, Type string
	Kernel            string   // kernel URL
	Initrds           []Initrd // initrd URLs, each with the name iPXE gives it
	Args              string   // kernel command line, machine args appended
	URL               string   // chain target
}

// Initrd is one initrd: URL and the file name the kernel command line
// refers to (initrd=NAME, which iPXE's EFI build needs).
type Initrd struct{ Name, URL string }

// Resolve builds the data for the machine with req.MAC: its menu (the
// default menu for an unknown MAC), merged variables (global < machine),
// and entries expanded with asset folders and executed templates.
func (c *Config) Resolve(req Request, srv Server, assets []AssetDir) (*Data, error) {
	d := &Data{Server: srv, Request: req, Vars: maps.Clone(c.Vars)}
	if d.Vars == nil {
		d.Vars = map[string]any{}
	}
	d.Machine.MAC = req.MAC.String()
	menuName, m := DefaultMenu, (*Machine)(nil)
	if m = c.Machines[req.MAC.String()]; m != nil {
		d.Machine = MachineData{Name: m.Name, Hostname: m.Hostname, MAC: m.MAC.String(), Known: true}
		menuName = m.Menu
		maps.Copy(d.Vars, m.Vars)
	}
	menu := c.Menus[menuName]
	d.Menu = MenuData{Name: menu.Name, Title: menu.Title, Timeout: menu.Timeout.Duration}
	seen := map[string]bool{}
	for i := range menu.Entries {
		es, err := d.expand(&menu.Entries[i], m, assets)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if seen[e.Name] {
				d.Notes = append(d.Notes, fmt.Sprintf("%s: entry %q appears twice (an assets folder named like an entry?); the first is kept", menu.File, e.Name))
				continue
			}
			seen[e.Name] = true
			d.Menu.Entries = append(d.Menu.Entries, e)
		}
	}
	if len(d.Menu.Entries) == 0 {
		return nil, fmt.Errorf("%s: menu %q has no entries for %s", menu.File, menu.Name, req.MAC)
	}
	d.Menu.Default = d.pickDefault(menu, m)
	if m != nil && m.Timeout != nil {
		d.Menu.Timeout = m.Timeout.Duration
	}
	return d, nil
}

func (d *Data) pickDefault(menu *Menu, m *Machine) string {
	has := func(name string) bool {
		for _, e := range d.Menu.Entries {
			if e.Name == name {
				return true
			}
		}
		return false
	}
	if m != nil && m.Default != "" {
		if has(m.Default) {
			return m.Default
		}
		d.Notes = append(d.Notes, fmt.Sprintf("%s: machine %s: default entry %q is not in menu %q", m.pos, m.Name, m.Default, menu.Name))
	}
	if menu.Default != "" {
		if has(menu.Default) {
			return menu.Default
		}
		d.Notes = append(d.Notes, fmt.Sprintf("%s: default entry %q is not in the menu", menu.File, menu.Default))
	}
	return d.Menu.Entries[0].Name
}

// expand turns one configured entry into zero or more resolved entries.
func (d *Data) expand(e *Entry, m *Machine, assets []AssetDir) ([]ResolvedEntry, error) {
	machineArgs := ""
	if m != nil {
		machineArgs = m.Args
	}
	if e.Type == TypeAssets {
		var out []ResolvedEntry
		for _, a := range assets {
			base := d.Server.AssetsURL + "/" + url.PathEscape(a.Name) + "/"
			r := ResolvedEntry{Name: a.Name, Title: a.Title, Type: TypeKernel, Kernel: base + url.PathEscape(a.Kernel),
				Args: joinArgs(a.Args, machineArgs)}
			for _, f := range a.Initrds {
				r.Initrds = append(r.Initrds, Initrd{Name: f, URL: base + url.PathEscape(f)})
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
	exec := func(t templates.Text) string {
		s, xerr := t.Execute(d)
		if xerr != nil && err == nil {
			err = fmt.Errorf("%s: entry %q: %w", e.pos, e.Name, xerr)
		}
		return s
	}
	r := ResolvedEntry{Name: e.Name, Title: exec(e.tpl.title), Type: e.Type}
	switch e.Type {
	case TypeKernel:
		r.Kernel = d.assetURL(exec(e.tpl.kernel))
		for _, t := range e.tpl.initrds {
			u := d.assetURL(exec(t))
			r.Initrds = append(r.Initrds, Initrd{Name: initrdName(u, r.Initrds), URL: u})
		}
		r.Args = joinArgs(exec(e.tpl.args), machineArgs)
	case TypeChain:
		r.URL = exec(e.tpl.url)
	}
	if err != nil {
		return nil, err
	}
	if err := checkResolved(e.pos, r); err != nil {
		return nil, err
	}
	return []ResolvedEntry{r}, nil
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
// boot script or are missing after expansion.
func checkResolved(pos string, r ResolvedEntry) error {
	single := func(field, v string, spaces bool) error {
		if strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f || (!spaces && c == ' ') }) {
			return fmt.Errorf("%s: entry %q: %s %q has a control character or space after expansion", pos, r.Name, field, v)
		}
		return nil
	}
	errs := []error{single("title", r.Title, true), single("kernel", r.Kernel, false), single("args", r.Args, true), single("url", r.URL, false)}
	for _, i := range r.Initrds {
		errs = append(errs, single("initrd", i.URL, false))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if r.Type == TypeKernel && r.Kernel == "" || r.Type == TypeChain && r.URL == "" {
		return fmt.Errorf("%s: entry %q: kernel or url is empty after expansion", pos, r.Name)
	}
	return nil
}
