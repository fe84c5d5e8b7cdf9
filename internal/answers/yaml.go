package answers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// autoinstallKeys are the top-level keys of Ubuntu's autoinstall
// reference (subiquity); an unknown one is usually a typo that subiquity
// rejects or ignores.
var autoinstallKeys = setOf("version", "interactive-sections",
	"early-commands", "locale", "refresh-installer", "keyboard", "source",
	"network", "proxy", "apt", "storage", "identity", "active-directory",
	"ubuntu-pro", "ubuntu-advantage", "ssh", "codecs", "drivers", "oem",
	"snaps", "debconf-selections", "packages", "kernel",
	"kernel-crash-dumps", "timezone", "updates", "shutdown",
	"late-commands", "error-commands", "reporting", "user-data", "zdevs")

// checkCloudConfig checks cloud-init user-data: the #cloud-config header
// (after an optional "## template: jinja" line), one YAML mapping, and
// in an autoinstall: section version 1, known keys and a complete
// identity.
func checkCloudConfig(content []byte) []Problem {
	var probs []Problem
	header := content
	if bytes.HasPrefix(header, []byte("## template:")) {
		if i := bytes.IndexByte(header, '\n'); i >= 0 {
			header = header[i+1:]
		}
	}
	if !bytes.HasPrefix(header, []byte("#cloud-config")) {
		probs = append(probs, Problem{1, "user-data must begin with #cloud-config"})
	}
	doc, yprobs := parseYAML(content)
	probs = append(probs, yprobs...)
	if doc == nil {
		return probs
	}
	if doc.Kind != yaml.MappingNode {
		return append(probs, Problem{doc.Line, "cloud-config must be a mapping of keys"})
	}
	key, ai := lookup(doc, "autoinstall")
	if ai == nil {
		return probs
	}
	if ai.Kind != yaml.MappingNode {
		return append(probs, Problem{ai.Line, "autoinstall must be a mapping"})
	}
	if _, v := lookup(ai, "version"); v == nil {
		probs = append(probs, Problem{key.Line, "autoinstall has no version (want version: 1)"})
	} else if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Value != "1" {
		probs = append(probs, Problem{v.Line, fmt.Sprintf("autoinstall version must be 1, not %s", clip(v.Value))})
	}
	for i := 0; i+1 < len(ai.Content); i += 2 {
		if k := ai.Content[i]; !autoinstallKeys[k.Value] {
			probs = append(probs, Problem{k.Line, fmt.Sprintf("unknown autoinstall key %q", clip(k.Value))})
		}
	}
	if k, id := lookup(ai, "identity"); id != nil {
		if id.Kind != yaml.MappingNode {
			probs = append(probs, Problem{k.Line, "autoinstall identity must be a mapping"})
		} else {
			for _, want := range []string{"hostname", "username", "password"} {
				if _, v := lookup(id, want); v == nil {
					probs = append(probs, Problem{k.Line, "autoinstall identity has no " + want})
				}
			}
		}
	}
	return probs
}

// checkMetaData checks NoCloud meta-data: a YAML mapping with an
// instance-id.
func checkMetaData(content []byte) []Problem {
	doc, probs := parseYAML(content)
	if doc == nil {
		if len(probs) == 0 {
			probs = append(probs, Problem{0, "meta-data is empty (want at least instance-id)"})
		}
		return probs
	}
	if doc.Kind != yaml.MappingNode {
		return append(probs, Problem{doc.Line, "meta-data must be a mapping of keys"})
	}
	if k, v := lookup(doc, "instance-id"); v == nil {
		probs = append(probs, Problem{0, "meta-data has no instance-id"})
	} else if v.Kind != yaml.ScalarNode || v.Value == "" {
		probs = append(probs, Problem{k.Line, "instance-id must be a non-empty string"})
	}
	return probs
}

// parseYAML parses one YAML document and returns its root node (nil when
// empty or broken). More than one document is a problem: cloud-init reads
// one.
func parseYAML(content []byte) (*yaml.Node, []Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(content))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, []Problem{yamlProblem(err)}
	}
	var root *yaml.Node
	if len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return root, []Problem{{next.Line, "a second YAML document (---); only one is read"}}
	case !errors.Is(err, io.EOF):
		return root, []Problem{yamlProblem(err)}
	}
	return root, nil
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlProblem turns "yaml: line 3: msg" into Problem{3, msg}.
func yamlProblem(err error) Problem {
	msg := err.Error()
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Problem{n, "YAML: " + msg[len(m[0]):]}
	}
	return Problem{0, "YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// lookup returns the key and value nodes of key in mapping m.
func lookup(m *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}
