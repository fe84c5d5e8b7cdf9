package menus

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// itemNodes returns the items of the top-level sequence key.
func itemNodes(root *yaml.Node, key string) []*yaml.Node {
	if root == nil || len(root.Content) == 0 {
		return nil
	}
	if v := valueOf(root.Content[0], key); v != nil && v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return nil
}

// nodeAt returns item i of items, or nil.
func nodeAt(items []*yaml.Node, i int) *yaml.Node {
	if i < len(items) {
		return items[i]
	}
	return nil
}

// nodePos returns "file:line" of n ("file:0" for nil).
func nodePos(file string, n *yaml.Node) string {
	line := 0
	if n != nil {
		line = n.Line
	}
	return fmt.Sprintf("%s:%d", file, line)
}

// valueOf returns the value of key in mapping m, or nil. Aliases are
// followed; keys merged with "<<" are not looked at.
func valueOf(m *yaml.Node, key string) *yaml.Node {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// keyPositions returns "file:line" of each key written in mapping n:
// "title" for the line of title:, "initrds[1]" for the second item of
// initrds and "sha256.linux" for a key of the sha256 mapping. Keys merged
// in with "<<: *anchor" are where the anchor writes them; a key n writes
// itself wins.
func keyPositions(file string, n *yaml.Node) map[string]string {
	pos := map[string]string{}
	var add func(m *yaml.Node, depth int)
	add = func(m *yaml.Node, depth int) {
		m = resolve(m)
		if m == nil || m.Kind != yaml.MappingNode || depth > 8 {
			return
		}
		var merges []*yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], resolve(m.Content[i+1])
			if k.ShortTag() == "!!merge" {
				merges = append(merges, v)
				continue
			}
			if _, ok := pos[k.Value]; ok || v == nil {
				continue
			}
			pos[k.Value] = nodePos(file, k)
			switch v.Kind {
			case yaml.SequenceNode:
				for j, item := range v.Content {
					pos[fmt.Sprintf("%s[%d]", k.Value, j)] = nodePos(file, item)
				}
			case yaml.MappingNode:
				for j := 0; j+1 < len(v.Content); j += 2 {
					pos[k.Value+"."+v.Content[j].Value] = nodePos(file, v.Content[j])
				}
			}
		}
		// Merged keys come after, so that the mapping's own keys win.
		for _, v := range merges {
			if v.Kind == yaml.SequenceNode {
				for _, item := range v.Content {
					add(item, depth+1)
				}
				continue
			}
			add(v, depth+1)
		}
	}
	add(n, 0)
	return pos
}
