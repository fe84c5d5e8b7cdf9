package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Names says how an error refers to a YAML mapping decoded into a Go
// struct type: a phrase such as "in a machine" or "in an entry". A
// mapping of a type not in Names is "at the top level" of the file, or
// "under KEY" for the key it is the value of.
type Names map[reflect.Type]string

// Decode decodes the first YAML document of data into v, a pointer, and
// returns the document's node tree for line lookups (of Kind 0 when data
// holds no document, which leaves v untouched). Keys that v has no field
// for are refused, the first of them as
//
//	menus/machines.yaml:4: unknown key "colour" in a machine (known: mac, name, ...)
//
// Every error starts with "file:line: ", or "file: " when yaml.v3 gives
// no line.
func Decode(file string, data []byte, v any, names Names) (*yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, lineError(file, err)
	}
	if len(root.Content) == 0 {
		return &root, nil
	}
	w := walker{file: file, names: names, seen: map[visit]bool{}, fields: map[reflect.Type]fields{}}
	if err := w.walk(root.Content[0], reflect.TypeOf(v), "at the top level"); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // the walk above should leave nothing for it
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return nil, lineError(file, err)
	}
	return &root, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// lineError rewrites a yaml.v3 error, "yaml: line 3: ..." or the first
// of an "unmarshal errors" list, as "file:3: ...".
func lineError(file string, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", file, m[1], msg[len(m[0]):])
	}
	return fmt.Errorf("%s: %s", file, strings.TrimPrefix(msg, "yaml: "))
}

// visit is a node checked against a type; an alias can bring a node back.
type visit struct {
	n *yaml.Node
	t reflect.Type
}

// walker finds keys that yaml.v3's strict decoding would refuse, and
// names them in YAML terms.
type walker struct {
	file   string
	names  Names
	seen   map[visit]bool
	fields map[reflect.Type]fields
}

var unmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

// walk checks node n, to be decoded into type t; where names the mapping
// for errors when t is a struct that Names lacks.
func (w *walker) walk(n *yaml.Node, t reflect.Type, where string) error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshaler) || w.seen[visit{n, t}] {
		return nil // a type that decodes itself says what it accepts
	}
	w.seen[visit{n, t}] = true
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		if name, ok := w.names[t]; ok {
			where = name
		}
		return w.mapping(n, t, where)
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := w.walk(n.Content[i+1], t.Elem(), fmt.Sprintf("under %q", n.Content[i].Value)); err != nil {
				return err
			}
		}
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && n.Kind == yaml.SequenceNode:
		for _, item := range n.Content {
			if err := w.walk(item, t.Elem(), where); err != nil {
				return err
			}
		}
	}
	return nil
}

// mapping checks the keys of mapping n against struct type t, following
// merge keys ("<<: *base") into the mappings they merge.
func (w *walker) mapping(n *yaml.Node, t reflect.Type, where string) error {
	f, ok := w.fields[t]
	if !ok {
		f = fieldsOf(t)
		w.fields[t] = f
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			merged := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				merged = v.Content
			}
			for _, m := range merged {
				if err := w.walk(m, t, where); err != nil {
					return err
				}
			}
			continue
		}
		ft, ok := f.types[k.Value]
		if !ok && f.any {
			continue
		}
		if !ok {
			return fmt.Errorf("%s:%d: unknown key %q %s (known: %s)", w.file, k.Line, k.Value, where, strings.Join(f.keys, ", "))
		}
		if err := w.walk(v, ft, fmt.Sprintf("under %q", k.Value)); err != nil {
			return err
		}
	}
	return nil
}

// fields are the keys a struct type reads, as yaml.v3 maps them.
type fields struct {
	keys  []string // in field order
	types map[string]reflect.Type
	any   bool // an inline map takes every other key
}

// fieldsOf lists the keys of struct type t by yaml.v3's rules: the
// name in the yaml tag, else the field name in lower case; "-" and
// unexported fields skipped; ",inline" structs' keys included.
func fieldsOf(t reflect.Type) fields {
	f := fields{types: map[string]reflect.Type{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.PkgPath != "" && !sf.Anonymous {
			continue
		}
		tag := sf.Tag.Get("yaml")
		if tag == "" && !strings.Contains(string(sf.Tag), ":") {
			tag = string(sf.Tag)
		}
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Map:
				f.any = true
			case reflect.Struct:
				in := fieldsOf(ft)
				f.keys = append(f.keys, in.keys...)
				for k, v := range in.types {
					f.types[k] = v
				}
				f.any = f.any || in.any
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		f.keys = append(f.keys, name)
		f.types[name] = sf.Type
	}
	return f
}
