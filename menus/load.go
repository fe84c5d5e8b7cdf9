package menus

import (
	"embed"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/yamlconf"
	"gopkg.in/yaml.v3"
)

//go:embed default.yaml catalog-*.yaml
var defaults embed.FS

// Dir is the directory of a config tree that holds menus.
const Dir = "menus"

// MachinesFile is the name of the machines file under Dir.
const MachinesFile = "machines.yaml"

// DefaultMenu is the menu a machine gets when it names none.
const DefaultMenu = "default"

// Defaults returns the embedded default menus, rooted like a config
// directory's menus/ folder.
func Defaults() fs.FS { return defaults }

// Config is a loaded, checked set of menus, groups and machines.
type Config struct {
	Menus    map[string]*Menu
	Machines map[hw.MAC]*Machine
	Groups   []Group        // in file order
	Vars     map[string]any // global variables from machines.yaml

	machineList []*Machine              // in file order
	reserved    map[netip.Addr]*Machine // by ip:
	defaults    catalogDefaults         // menus' vars: and mirrors:
}

// MachineList returns the listed machines in the order machines.yaml
// lists them.
func (c *Config) MachineList() []*Machine { return slices.Clone(c.machineList) }

// ReservedBy returns the machine an address is reserved for (its ip:).
func (c *Config) ReservedBy(a netip.Addr) (*Machine, bool) {
	m, ok := c.reserved[a]
	return m, ok
}

// Load reads every menus/*.yaml file from fsys and checks it. Errors name
// the file and line ("menus/default.yaml:12: ...").
func Load(fsys fs.FS) (*Config, error) {
	files, err := fs.Glob(fsys, Dir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	c := &Config{Menus: map[string]*Menu{}, Machines: map[hw.MAC]*Machine{}, Vars: map[string]any{}}
	var machines *machinesFile
	var mroot *yaml.Node
	for _, file := range files {
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, err
		}
		if path.Base(file) == MachinesFile {
			machines = &machinesFile{}
			if mroot, err = yamlconf.Decode(file, data, machines, yamlNames); err != nil {
				return nil, err
			}
			continue
		}
		m, keyPos, err := loadMenu(file, data)
		if err != nil {
			return nil, err
		}
		if err := c.defaults.add(m, keyPos); err != nil {
			return nil, err
		}
		c.Menus[m.Name] = m
	}
	if _, ok := c.Menus[DefaultMenu]; !ok {
		return nil, fmt.Errorf("%s/%s.yaml: the default menu is missing", Dir, DefaultMenu)
	}
	if err := c.checkSubmenus(); err != nil {
		return nil, err
	}
	if machines != nil {
		file := Dir + "/" + MachinesFile
		if machines.Vars != nil {
			c.Vars = machines.Vars
		}
		if err := c.addGroups(file, machines.Groups, itemNodes(mroot, "groups")); err != nil {
			return nil, err
		}
		if err := c.addMachines(file, machines.Machines, itemNodes(mroot, "machines")); err != nil {
			return nil, err
		}
		if err := c.checkAmbiguous(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// loadMenu loads one menu file; it returns the "file:line" of the keys
// of its top-level mappings ("vars.x", "mirrors.x") too.
func loadMenu(file string, data []byte) (*Menu, map[string]string, error) {
	name := strings.TrimSuffix(path.Base(file), ".yaml")
	if !namePattern.MatchString(name) {
		return nil, nil, fmt.Errorf("%s: menu file name must be letters, digits, '.', '_' or '-'", file)
	}
	m := &Menu{Name: name, File: file}
	root, err := yamlconf.Decode(file, data, m, yamlNames)
	if err != nil {
		return nil, nil, err
	}
	if m.Title == "" {
		m.Title = name
	}
	if strings.ContainsAny(m.Title, "\r\n") {
		return nil, nil, fmt.Errorf("%s: title must be one line", file)
	}
	if err := validFiles(file, "menu "+name, m.Files); err != nil {
		return nil, nil, err
	}
	var keyPos map[string]string
	if root != nil && len(root.Content) > 0 {
		keyPos = keyPositions(file, root.Content[0])
	}
	if err := m.loadEntries(file, root); err != nil {
		return nil, nil, err
	}
	if err := checkMenuCatalog(m, keyPos); err != nil {
		return nil, nil, err
	}
	return m, keyPos, nil
}

// loadEntries checks a menu's entries, with the positions of their keys.
func (m *Menu) loadEntries(file string, root *yaml.Node) error {
	items := itemNodes(root, "entries")
	seen := map[string]string{}
	for i := range m.Entries {
		e := &m.Entries[i]
		e.pos = nodePos(file, nodeAt(items, i))
		if n := nodeAt(items, i); n != nil {
			e.keyPos = keyPositions(file, n)
		}
		if err := validateEntry(e); err != nil {
			return err
		}
		if e.Type == TypeAssets {
			continue
		}
		if prev, dup := seen[e.Name]; dup {
			return fmt.Errorf("%s: entry %q already defined at %s", e.posOf("name"), e.Name, prev)
		}
		seen[e.Name] = e.posOf("name")
	}
	return nil
}

// checkSubmenus makes sure every submenu exists and no menu contains
// itself, directly or through other menus.
func (c *Config) checkSubmenus() error {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var visit func(m *Menu, trail []string) error
	visit = func(m *Menu, trail []string) error {
		state[m.Name] = visiting
		for i := range m.Entries {
			e := &m.Entries[i]
			if e.Type != TypeMenu {
				continue
			}
			sub, ok := c.Menus[e.Menu]
			if !ok {
				return fmt.Errorf("%s: entry %q: no menu %q (no file %s/%s.yaml)", e.posOf("menu"), e.Name, e.Menu, Dir, e.Menu)
			}
			switch state[sub.Name] {
			case visiting:
				return fmt.Errorf("%s: entry %q: submenu cycle %s", e.posOf("menu"), e.Name, strings.Join(append(trail, m.Name, sub.Name), " -> "))
			case unvisited:
				if err := visit(sub, append(trail, m.Name)); err != nil {
					return err
				}
			}
		}
		state[m.Name] = done
		return nil
	}
	names := make([]string, 0, len(c.Menus))
	for n := range c.Menus {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if state[n] == unvisited {
			if err := visit(c.Menus[n], nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Config) addGroups(file string, groups []Group, items []*yaml.Node) error {
	names := map[string]string{}
	for i := range groups {
		g := &groups[i]
		g.pos = nodePos(file, nodeAt(items, i))
		if !namePattern.MatchString(g.Name) {
			return fmt.Errorf("%s: group name %q must be letters, digits, '.', '_' or '-'", g.pos, g.Name)
		}
		if prev, dup := names[g.Name]; dup {
			return fmt.Errorf("%s: group %s already defined at %s", g.pos, g.Name, prev)
		}
		names[g.Name] = g.pos
		if err := validateSelector(g.pos, g.Name, &g.Match); err != nil {
			return err
		}
		if err := c.validateSettings(g.pos, "group "+g.Name, &g.Settings); err != nil {
			return err
		}
	}
	c.Groups = groups
	return nil
}

func (c *Config) addMachines(file string, machines []Machine, items []*yaml.Node) error {
	names, ips := map[string]string{}, map[string]string{}
	for i := range machines {
		m := &machines[i]
		m.pos = nodePos(file, nodeAt(items, i))
		if m.MAC.IsZero() {
			return fmt.Errorf("%s: machine needs a mac: key", m.pos)
		}
		key := m.MAC.MAC
		if prev, dup := c.Machines[key]; dup {
			return fmt.Errorf("%s: machine %s already defined at %s", m.pos, key, prev.pos)
		}
		if m.Name == "" {
			m.Name = key.URL()
		}
		if !namePattern.MatchString(m.Name) {
			return fmt.Errorf("%s: machine name %q must be letters, digits, '.', '_' or '-'", m.pos, m.Name)
		}
		if prev, dup := names[m.Name]; dup {
			return fmt.Errorf("%s: machine name %q already used at %s", m.pos, m.Name, prev)
		}
		names[m.Name] = m.pos
		if m.IP.IsValid() {
			if prev, dup := ips[m.IP.String()]; dup {
				return fmt.Errorf("%s: machine %s: ip %s already reserved at %s", m.pos, m.Name, m.IP, prev)
			}
			ips[m.IP.String()] = m.pos
		}
		for _, l := range m.Labels {
			if !namePattern.MatchString(l) {
				return fmt.Errorf("%s: machine %s: label %q must be letters, digits, '.', '_' or '-'", m.pos, m.Name, l)
			}
		}
		if err := c.validateSettings(m.pos, "machine "+m.Name, &m.Settings); err != nil {
			return err
		}
		c.Machines[key] = m
		c.machineList = append(c.machineList, m)
		if m.IP.IsValid() {
			if c.reserved == nil {
				c.reserved = map[netip.Addr]*Machine{}
			}
			c.reserved[m.IP.Addr] = m
		}
	}
	return nil
}

// yamlNames are how errors name the mappings of menus/*.yaml.
var yamlNames = yamlconf.Names{
	reflect.TypeFor[Entry]():    "in an entry",
	reflect.TypeFor[Machine]():  "in a machine",
	reflect.TypeFor[Group]():    "in a group",
	reflect.TypeFor[Selector](): "in a group's match",
}
