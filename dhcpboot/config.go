package dhcpboot

import (
	"fmt"
	"reflect"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/yamlconf"

	"gopkg.in/yaml.v3"
)

// FileConfig is a parsed DHCP configuration file (--dhcp-config): several
// subnets, arch to boot file overrides, allow and deny lists and the rate
// limit. Interfaces are named, not resolved: the caller looks up each
// interface's address and prefix, then calls Subnet.Validate.
type FileConfig struct {
	Subnets   []SubnetConfig
	BootFiles map[hw.Arch]string // overrides; "" takes an arch's file away
	Filter    Filter
	RateLimit RateLimit
}

// SubnetConfig is one entry of the subnets list and where it was written.
type SubnetConfig struct {
	Subnet            // the IPv4 side, without a range when Spec.HasIPv4 is false
	Spec   SubnetSpec // the entry as written: dhcp6boot.ParseSubnet reads its IPv6 side
	Pos    string     // "file:line" of the entry, for errors
}

type rawConfig struct {
	Subnets   []SubnetSpec      `yaml:"subnets"`
	BootFiles map[string]string `yaml:"boot_files"`
	Allow     rawMatch          `yaml:"allow"`
	Deny      rawMatch          `yaml:"deny"`
	RateLimit struct {
		PerSecond float64 `yaml:"per_second"`
		Burst     int     `yaml:"burst"`
	} `yaml:"rate_limit"`
}

type rawMatch struct {
	MACs          []string `yaml:"macs"`
	VendorClasses []string `yaml:"vendor_classes"`
}

// yamlNames are how errors name the mappings of a DHCP configuration file.
var yamlNames = yamlconf.Names{reflect.TypeFor[SubnetSpec](): "in a subnet"}

// ParseConfigFile parses a DHCP configuration file. Unknown keys are
// errors; every error is one line that starts with name:line.
func ParseConfigFile(name string, data []byte) (*FileConfig, error) {
	var raw rawConfig
	// An empty file is an empty configuration.
	root, err := yamlconf.Decode(name, data, &raw, yamlNames)
	if err != nil {
		return nil, err
	}
	at := func(n *yaml.Node) string {
		if n == nil {
			return name
		}
		return fmt.Sprintf("%s:%d", name, n.Line)
	}
	doc := docMap(root)
	fc := &FileConfig{RateLimit: RateLimit{PerSecond: raw.RateLimit.PerSecond, Burst: raw.RateLimit.Burst}}
	items := valueOf(doc, "subnets")
	for i, spec := range raw.Subnets {
		pos := at(itemAt(items, i))
		n, err := spec.Parse()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pos, err)
		}
		fc.Subnets = append(fc.Subnets, SubnetConfig{Subnet: n, Spec: spec, Pos: pos})
	}
	if len(raw.BootFiles) > 0 {
		fc.BootFiles = map[hw.Arch]string{}
		for k, v := range raw.BootFiles {
			a, err := hw.ParseArch(k)
			if err != nil {
				return nil, fmt.Errorf("%s: boot_files: %w", at(mapKey(valueOf(doc, "boot_files"), k)), err)
			}
			fc.BootFiles[a] = v
		}
	}
	if fc.Filter.Allow, err = raw.Allow.match(at(valueOf(doc, "allow"))); err != nil {
		return nil, err
	}
	if fc.Filter.Deny, err = raw.Deny.match(at(valueOf(doc, "deny"))); err != nil {
		return nil, err
	}
	return fc, nil
}

func (rm rawMatch) match(pos string) (Match, error) {
	var m Match
	for _, s := range rm.MACs {
		mac, err := ParseMACPrefix(s)
		if err != nil {
			return m, fmt.Errorf("%s: %w", pos, err)
		}
		m.MACs = append(m.MACs, mac)
	}
	for _, v := range rm.VendorClasses {
		if v == "" {
			return m, fmt.Errorf("%s: empty vendor class (it would match every client)", pos)
		}
		m.VendorClasses = append(m.VendorClasses, v)
	}
	return m, nil
}

// docMap returns the top-level mapping of a parsed document, or nil.
func docMap(root *yaml.Node) *yaml.Node {
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		return root.Content[0]
	}
	return nil
}

// valueOf returns the value node of key in mapping m, or nil.
func valueOf(m *yaml.Node, key string) *yaml.Node {
	if k := mapKey(m, key); k != nil {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i] == k {
				return m.Content[i+1]
			}
		}
	}
	return nil
}

// mapKey returns the key node of key in mapping m, or nil.
func mapKey(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

// itemAt returns item i of a sequence node, or nil.
func itemAt(n *yaml.Node, i int) *yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}
