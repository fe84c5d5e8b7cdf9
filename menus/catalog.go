package menus

import (
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// The catalog is a set of menus of distribution installers and tools
// (menus/catalog-*.yaml, embedded, overridable like every file) that the
// default menu shows as submenus. Three menu keys make it data:
//
//	cache: true       every kernel entry of the menu goes through the
//	                  download cache unless it says cache: false
//	vars: {...}       defaults of variables (releases), beneath the vars
//	                  of machines.yaml, groups and machines
//	mirrors: {...}    upstream base URL per distribution, for
//	                  {{ .Mirror "debian" }} in the entries
//
// {{ .Mirror "debian" }} is variable debian_mirror when it is set, else
// catalog_mirror + "/debian" when catalog_mirror is set (one variable
// points the whole catalog at a local mirror holding each distribution
// under its name, in the upstream's own layout), else the upstream.

// CatalogMirrorVar is the variable that repoints every mirror at once.
const CatalogMirrorVar = "catalog_mirror"

// mirrorName is what a mirror may be called: it becomes a variable name
// (<name>_mirror) and a folder of the local mirror.
var mirrorName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// catalogDefaults are the variable defaults and mirrors of all menus.
type catalogDefaults struct {
	vars    map[string]any
	mirrors map[string]string
	from    map[string]string // "file:line" of each var and mirror, for conflicts
}

// checkMenuCatalog checks a menu's catalog keys and applies its cache
// default to its entries; keyPos gives "file:line" of "vars.x" keys.
func checkMenuCatalog(m *Menu, keyPos map[string]string) error {
	for name, u := range m.Mirrors {
		pos := m.File
		if p, ok := keyPos["mirrors."+name]; ok {
			pos = p
		}
		if !mirrorName.MatchString(name) {
			return fmt.Errorf("%s: mirror name %q must be lower-case letters, digits and '_'", pos, name)
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || pu.User != nil || strings.HasSuffix(u, "/") {
			return fmt.Errorf("%s: mirror %s: %q must be an http or https URL without credentials or a trailing slash", pos, name, u)
		}
	}
	if !m.Cache {
		return nil
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if _, set := e.keyPos["cache"]; !set && bootsKernel(e.Type) {
			e.Cache = true
		}
	}
	return nil
}

// add merges a menu's defaults, refusing a variable or mirror that
// another menu file sets to something else.
func (cd *catalogDefaults) add(m *Menu, keyPos map[string]string) error {
	if cd.vars == nil {
		cd.vars, cd.mirrors, cd.from = map[string]any{}, map[string]string{}, map[string]string{}
	}
	merge := func(kind, name string, v, prev any, had bool) error {
		pos := keyPos[kind+"."+name]
		if pos == "" {
			pos = m.File
		}
		if had && !reflect.DeepEqual(prev, v) {
			return fmt.Errorf("%s: %s %s is %v here but %v at %s", pos, strings.TrimSuffix(kind, "s"), name, v, prev, cd.from[kind+"."+name])
		}
		cd.from[kind+"."+name] = pos
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(m.Vars)) {
		prev, had := cd.vars[name]
		if err := merge("vars", name, m.Vars[name], prev, had); err != nil {
			return err
		}
		cd.vars[name] = m.Vars[name]
	}
	for _, name := range slices.Sorted(maps.Keys(m.Mirrors)) {
		prev, had := cd.mirrors[name]
		if err := merge("mirrors", name, m.Mirrors[name], prev, had); err != nil {
			return err
		}
		cd.mirrors[name] = m.Mirrors[name]
	}
	return nil
}

// Mirror returns the base URL of the named distribution's mirror, without
// a trailing slash: variable <name>_mirror, else catalog_mirror/<name>,
// else the upstream a menu's mirrors: names. An unknown name fails the
// render, naming it.
func (d *Data) Mirror(name string) (string, error) {
	if v := d.Var(name+"_mirror", ""); fmt.Sprint(v) != "" {
		return strings.TrimRight(fmt.Sprint(v), "/"), nil
	}
	up, ok := d.mirrors[name]
	if !ok {
		return "", fmt.Errorf("no mirror %q: name it under mirrors: in a menus/*.yaml file, or set variable %s_mirror", name, name)
	}
	if v := d.Var(CatalogMirrorVar, ""); fmt.Sprint(v) != "" {
		return strings.TrimRight(fmt.Sprint(v), "/") + "/" + name, nil
	}
	return up, nil
}

// Mirrors returns the upstream of every mirror the menus name.
func (c *Config) Mirrors() map[string]string { return maps.Clone(c.defaults.mirrors) }
