package menus

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bootwright/bootwright/templates"
)

// Entry types.
const (
	TypeKernel = "kernel" // boot a kernel with initrds and arguments
	TypeChain  = "chain"  // chain to another boot script or NBP by URL
	TypeLocal  = "local"  // boot from the local disk
	TypeShell  = "shell"  // the iPXE shell
	TypeExit   = "exit"   // leave iPXE, back to the firmware
	TypeAssets = "assets" // placeholder: one kernel entry per assets folder
)

var validTypes = map[string]bool{TypeKernel: true, TypeChain: true, TypeLocal: true, TypeShell: true, TypeExit: true, TypeAssets: true}

// namePattern is what a menu, entry or machine name may look like: safe as
// an iPXE label, a file name and a URL path segment.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// reservedPrefix starts the labels the menu templates use themselves.
const reservedPrefix = "bw-"

// Menu is one menus/<name>.yaml file.
type Menu struct {
	Name    string   `yaml:"-"`
	File    string   `yaml:"-"`
	Title   string   `yaml:"title"`
	Timeout Duration `yaml:"timeout"`
	Default string   `yaml:"default"`
	Entries []Entry  `yaml:"entries"`
}

// Entry is one item of a menu. Kernel, Initrds, Args and URL are templates
// over the same data as the menu (.Vars, .Machine, .Request, .Server); a
// kernel or initrd without a scheme is a path under the assets URL.
type Entry struct {
	Name    string   `yaml:"name"`
	Title   string   `yaml:"title"`
	Type    string   `yaml:"type"`
	Kernel  string   `yaml:"kernel"`
	Initrds []string `yaml:"initrds"`
	Args    string   `yaml:"args"`
	URL     string   `yaml:"url"`
	// Needs lists variables that must be set (non-empty) for the entry to
	// appear, so installer entries stay hidden until a mirror is chosen.
	Needs []string `yaml:"needs"`

	pos string // "file:line" for errors
	tpl entryTemplates
}

type entryTemplates struct {
	title, kernel, args, url templates.Text
	initrds                  []templates.Text
}

// Machine is one machine in menus/machines.yaml.
type Machine struct {
	MAC      MAC            `yaml:"mac"`
	Name     string         `yaml:"name"`
	Hostname string         `yaml:"hostname"`
	Menu     string         `yaml:"menu"`    // menu name; empty means "default"
	Default  string         `yaml:"default"` // entry booted when the menu times out
	Timeout  *Duration      `yaml:"timeout"` // overrides the menu's timeout
	Args     string         `yaml:"args"`    // appended to every kernel entry
	Vars     map[string]any `yaml:"vars"`

	pos string
}

// machinesFile is menus/machines.yaml.
type machinesFile struct {
	Vars     map[string]any `yaml:"vars"`
	Machines []Machine      `yaml:"machines"`
}

// Duration is a time.Duration written as "10s" or "1m30s" in YAML.
type Duration struct{ time.Duration }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: invalid duration %q (want e.g. 10s or 1m)", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

// MAC is an Ethernet address accepted as 52:54:00:12:34:56,
// 52-54-00-12-34-56 or 5254.0012.3456.
type MAC struct{ net.HardwareAddr }

// UnmarshalYAML parses and normalises a MAC address.
func (m *MAC) UnmarshalYAML(n *yaml.Node) error {
	hw, err := ParseMAC(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	m.HardwareAddr = hw
	return nil
}

// ParseMAC parses a 6-byte Ethernet address in any form net.ParseMAC
// accepts (colons, hyphens or dots) and rejects every other length.
func ParseMAC(s string) (net.HardwareAddr, error) {
	hw, err := net.ParseMAC(strings.TrimSpace(s))
	if err != nil || len(hw) != 6 {
		return nil, fmt.Errorf("invalid MAC address %q", s)
	}
	return hw, nil
}

// validateEntry checks one entry and parses its templates.
func validateEntry(e *Entry) error {
	if e.Type == "" {
		e.Type = TypeKernel
	}
	if !validTypes[e.Type] {
		return fmt.Errorf("%s: entry %q: unknown type %q (want kernel, chain, local, shell, exit or assets)", e.pos, e.Name, e.Type)
	}
	if e.Type == TypeAssets {
		return nil
	}
	if !namePattern.MatchString(e.Name) || strings.HasPrefix(e.Name, reservedPrefix) {
		return fmt.Errorf("%s: entry name %q must be letters, digits, '.', '_' or '-' and not start with %q", e.pos, e.Name, reservedPrefix)
	}
	if e.Title == "" {
		e.Title = e.Name
	}
	if strings.ContainsAny(e.Title, "\r\n") {
		return fmt.Errorf("%s: entry %q: title must be one line", e.pos, e.Name)
	}
	switch {
	case e.Type == TypeKernel && e.Kernel == "":
		return fmt.Errorf("%s: entry %q: type kernel needs kernel:", e.pos, e.Name)
	case e.Type == TypeChain && e.URL == "":
		return fmt.Errorf("%s: entry %q: type chain needs url:", e.pos, e.Name)
	}
	var err error
	parse := func(field, src string) templates.Text {
		t, perr := templates.ParseText(e.pos+" "+field, src)
		if perr != nil && err == nil {
			err = perr
		}
		return t
	}
	e.tpl.title = parse("title", e.Title)
	e.tpl.kernel = parse("kernel", e.Kernel)
	e.tpl.args = parse("args", e.Args)
	e.tpl.url = parse("url", e.URL)
	for _, src := range e.Initrds {
		e.tpl.initrds = append(e.tpl.initrds, parse("initrd", src))
	}
	return err
}
