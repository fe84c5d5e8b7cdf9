package catalog

import (
	"slices"
	"strings"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/menus"
)

// Roles of a URL in an entry.
const (
	RoleKernel = "kernel"
	RoleInitrd = "initrd"
	RoleSums   = "sums"  // the distribution's checksum list
	RoleChain  = "chain" // another boot server's script or program
	RoleArg    = "arg"   // named by a kernel argument (key=URL)
)

// Item is one URL of one entry, with the arch families that get it.
type Item struct {
	Entry  string    // the entry's label: "install.debian-13"
	Title  string    // as the menu shows it
	Arches []hw.Arch // families whose menu has this entry with this URL
	Role   string
	URL    string
	// Local means the URL is this server's own (memtest86+ from /tftp/,
	// an assets folder): listed, never checked.
	Local bool
}

// List returns the URLs of the menu tree that the machine mac (the zero
// MAC: an unknown machine) gets, resolved for every arch family with
// srv's URLs and without the download cache, so upstream URLs show as
// they are. Entries that fail to resolve are returned as errors.
func List(c *menus.Config, srv menus.Server, mac hw.MAC) ([]Item, []error) {
	srv.Cache = nil
	var items []Item
	index := map[string]int{} // entry, role, URL -> items index
	var errs []error
	for _, arch := range hw.Families() {
		d, err := c.Resolve(menus.Request{MAC: mac, Arch: arch}, srv, nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, d.Errors...)
		walk(&d.Menu, func(e *menus.ResolvedEntry) {
			for _, u := range urlsOf(e) {
				key := e.Label + " " + u.role + " " + u.url
				i, ok := index[key]
				if !ok {
					i = len(items)
					index[key] = i
					local := strings.HasPrefix(u.url, srv.URL+"/")
					items = append(items, Item{Entry: e.Label, Title: e.Title, Role: u.role, URL: u.url, Local: local})
				}
				items[i].Arches = append(items[i].Arches, arch)
			}
		})
	}
	return items, dedupErrors(errs)
}

// walk calls f for every entry of m and its submenus that is not itself
// a submenu, in menu order.
func walk(m *menus.MenuData, f func(*menus.ResolvedEntry)) {
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Submenu != nil {
			walk(e.Submenu, f)
			continue
		}
		f(e)
	}
}

type roleURL struct{ role, url string }

// urlsOf returns the URLs an entry boots from, in the order a machine
// fetches them.
func urlsOf(e *menus.ResolvedEntry) []roleURL {
	var out []roleURL
	add := func(role, u string) {
		if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "tftp://") {
			out = append(out, roleURL{role, u})
		}
	}
	switch e.Type {
	case menus.TypeKernel, menus.TypeWimboot:
		add(RoleKernel, e.Kernel)
		for _, in := range e.Initrds {
			add(RoleInitrd, in.URL)
		}
		add(RoleSums, e.Sums)
		for _, f := range strings.Fields(e.Args) {
			if _, v, ok := strings.Cut(f, "="); ok {
				add(RoleArg, v)
			}
		}
	case menus.TypeChain:
		add(RoleChain, e.URL)
	}
	return out
}

// dedupErrors drops errors that repeat (the same entry under every arch).
func dedupErrors(errs []error) []error {
	var out []error
	seen := map[string]bool{}
	for _, err := range errs {
		if !seen[err.Error()] {
			seen[err.Error()] = true
			out = append(out, err)
		}
	}
	return slices.Clip(out)
}

// ArchNames returns the names of arches, for printing.
func ArchNames(arches []hw.Arch) string {
	names := make([]string, len(arches))
	for i, a := range arches {
		names[i] = a.String()
	}
	return strings.Join(names, ",")
}
