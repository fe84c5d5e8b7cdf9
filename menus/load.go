package menus

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed default.yaml
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

// Config is a loaded, checked set of menus and machines.
type Config struct {
	Menus    map[string]*Menu
	Machines map[string]*Machine // by MAC in net.HardwareAddr.String form
	Vars     map[string]any      // global variables from machines.yaml
}

// Load reads every menus/*.yaml file from fsys and checks it. Errors name
// the file and line ("menus/default.yaml:12: ...").
func Load(fsys fs.FS) (*Config, error) {
	files, err := fs.Glob(fsys, Dir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	c := &Config{Menus: map[string]*Menu{}, Machines: map[string]*Machine{}, Vars: map[string]any{}}
	var machines *machinesFile
	var mroot *yaml.Node
	for _, file := range files {
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, err
		}
		if path.Base(file) == MachinesFile {
			machines, mroot = &machinesFile{}, nil
			if mroot, err = decodeStrict(file, data, machines); err != nil {
				return nil, err
			}
			continue
		}
		m, err := loadMenu(file, data)
		if err != nil {
			return nil, err
		}
		c.Menus[m.Name] = m
	}
	if _, ok := c.Menus[DefaultMenu]; !ok {
		return nil, fmt.Errorf("%s/%s.yaml: the default menu is missing", Dir, DefaultMenu)
	}
	if machines != nil {
		if err := c.addMachines(Dir+"/"+MachinesFile, machines, mroot); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func loadMenu(file string, data []byte) (*Menu, error) {
	name := strings.TrimSuffix(path.Base(file), ".yaml")
	if !namePattern.MatchString(name) {
		return nil, fmt.Errorf("%s: menu file name must be letters, digits, '.', '_' or '-'", file)
	}
	m := &Menu{Name: name, File: file}
	root, err := decodeStrict(file, data, m)
	if err != nil {
		return nil, err
	}
	if m.Title == "" {
		m.Title = name
	}
	if strings.ContainsAny(m.Title, "\r\n") {
		return nil, fmt.Errorf("%s: title must be one line", file)
	}
	lines := itemLines(root, "entries")
	seen := map[string]string{}
	for i := range m.Entries {
		e := &m.Entries[i]
		e.pos = fmt.Sprintf("%s:%d", file, lineAt(lines, i))
		if err := validateEntry(e); err != nil {
			return nil, err
		}
		if e.Type == TypeAssets {
			continue
		}
		if prev, dup := seen[e.Name]; dup {
			return nil, fmt.Errorf("%s: entry %q already defined at %s", e.pos, e.Name, prev)
		}
		seen[e.Name] = e.pos
	}
	return m, nil
}

func (c *Config) addMachines(file string, mf *machinesFile, root *yaml.Node) error {
	if mf.Vars != nil {
		c.Vars = mf.Vars
	}
	lines := itemLines(root, "machines")
	names := map[string]string{}
	for i := range mf.Machines {
		m := &mf.Machines[i]
		m.pos = fmt.Sprintf("%s:%d", file, lineAt(lines, i))
		if m.MAC.HardwareAddr == nil {
			return fmt.Errorf("%s: machine needs mac:", m.pos)
		}
		key := m.MAC.String()
		if prev, dup := c.Machines[key]; dup {
			return fmt.Errorf("%s: machine %s already defined at %s", m.pos, key, prev.pos)
		}
		if m.Name == "" {
			m.Name = strings.ReplaceAll(key, ":", "-")
		}
		if !namePattern.MatchString(m.Name) {
			return fmt.Errorf("%s: machine name %q must be letters, digits, '.', '_' or '-'", m.pos, m.Name)
		}
		if prev, dup := names[m.Name]; dup {
			return fmt.Errorf("%s: machine name %q already used at %s", m.pos, m.Name, prev)
		}
		names[m.Name] = m.pos
		if m.Menu == "" {
			m.Menu = DefaultMenu
		}
		if _, ok := c.Menus[m.Menu]; !ok {
			return fmt.Errorf("%s: machine %s: no menu %q (no file %s/%s.yaml)", m.pos, m.Name, m.Menu, Dir, m.Menu)
		}
		if strings.ContainsAny(m.Args, "\r\n") {
			return fmt.Errorf("%s: machine %s: args must be one line", m.pos, m.Name)
		}
		c.Machines[key] = m
	}
	return nil
}

// decodeStrict decodes data into v, refusing unknown fields, and returns
// the document's node tree for line lookups. Errors read "file:line: ...".
func decodeStrict(file string, data []byte, v any) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return nil, fileLine(file, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fileLine(file, err)
	}
	return &root, nil
}

var yamlLine = regexp.MustCompile(`(?:yaml: )?(?:unmarshal errors:\n\s*)?line (\d+): `)

// fileLine rewrites yaml.v3's "yaml: line 3: ..." as "file:3: ...".
func fileLine(file string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", file, msg[m[2]:m[3]], strings.TrimSpace(msg[m[1]:]))
	}
	return fmt.Errorf("%s: %s", file, strings.TrimPrefix(msg, "yaml: "))
}

// itemLines returns the line of each item of the top-level sequence key.
func itemLines(root *yaml.Node, key string) []int {
	if root == nil || len(root.Content) == 0 {
		return nil
	}
	doc := root.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == key {
			var lines []int
			for _, item := range doc.Content[i+1].Content {
				lines = append(lines, item.Line)
			}
			return lines
		}
	}
	return nil
}

func lineAt(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}
