package answers

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Problem is one finding in a rendered file; Line is 1-based (0: whole file).
type Problem struct {
	Line int
	Msg  string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Msg
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

// Kinds Check knows.
const (
	KindKickstart   = "kickstart"    // Anaconda kickstart (*.ks)
	KindPreseed     = "preseed"      // debconf preseed (*.cfg, *.preseed)
	KindCloudConfig = "cloud-config" // cloud-init user-data, autoinstall
	KindMetaData    = "meta-data"    // NoCloud meta-data
	KindYAML        = "yaml"         // any other YAML: syntax only
	KindUnattend    = "unattend"     // Windows Setup answer file
	KindXML         = "xml"          // any other XML: well-formedness only
)

// Kind picks the checker for a per-machine file name, looking at content
// where the name does not decide: "kickstart" (*.ks, or a *.cfg that reads
// like one), "preseed" (*.preseed, or a *.cfg starting with #_preseed_V1
// or holding debconf lines), "cloud-config" (user-data and vendor-data
// that are not scripts or MIME archives, *.yaml and *.yml that start with
// #cloud-config), "meta-data", "yaml" (network-config, other *.yaml and
// *.yml), "unattend" (autounattend.xml, unattend.xml, or any *.xml whose
// root element is unattend), "xml" (other *.xml), or "" (no check).
func Kind(name string, content []byte) string {
	base := path.Base(name)
	ext := strings.ToLower(path.Ext(base))
	switch {
	case base == "user-data" || base == "vendor-data":
		if bytes.HasPrefix(content, []byte("#!")) || hasPrefixFold(content, "Content-Type:") || len(bytes.TrimSpace(content)) == 0 {
			return "" // a script, a MIME multi-part archive or nothing
		}
		return KindCloudConfig
	case base == "meta-data":
		return KindMetaData
	case base == "network-config":
		return KindYAML
	case ext == ".yaml" || ext == ".yml":
		if bytes.HasPrefix(content, []byte("#cloud-config")) {
			return KindCloudConfig
		}
		return KindYAML
	case ext == ".ks":
		return KindKickstart
	case ext == ".preseed":
		return KindPreseed
	case ext == ".cfg":
		return sniffCfg(content)
	case ext == ".xml":
		if unattendName.MatchString(base) || rootIsUnattend(content) {
			return KindUnattend
		}
		return KindXML
	}
	return ""
}

var unattendName = regexp.MustCompile(`(?i)^(auto)?unattend\b.*\.xml$`)

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

// preseedLine is a debconf selection: owner, question with a slash, type.
var preseedLine = regexp.MustCompile(`^\s*\S+\s+\S+/\S+\s+(string|boolean|select|multiselect|note|text|password|error|title|seen)(\s|$)`)

// sniffCfg tells a preseed from a kickstart by what most of its
// non-comment lines look like; it returns "" for anything else (a
// pxelinux or GRUB config, say).
func sniffCfg(content []byte) string {
	if bytes.HasPrefix(content, []byte("#_preseed_V1")) {
		return KindPreseed
	}
	preseed, kickstart := 0, 0
	for _, line := range strings.Split(string(content), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if preseedLine.MatchString(t) {
			preseed++
			continue
		}
		word := strings.Fields(t)[0]
		if ksCommands[word] || ksSections[word] {
			kickstart++
		}
	}
	switch {
	case preseed == 0 && kickstart == 0:
		return ""
	case preseed >= kickstart:
		return KindPreseed
	}
	return KindKickstart
}

// Check validates rendered content of the given kind and returns its
// problems in line order; an unknown kind has none.
func Check(kind string, content []byte) []Problem {
	probs := check(kind, content)
	// A parser may point past the end (an empty YAML document after
	// "---" is on the next line); keep every problem inside the file.
	last := bytes.Count(content, []byte("\n")) + 1
	for i := range probs {
		probs[i].Line = min(probs[i].Line, last)
	}
	return probs
}

func check(kind string, content []byte) []Problem {
	switch kind {
	case KindKickstart:
		return checkKickstart(content)
	case KindPreseed:
		return checkPreseed(content)
	case KindCloudConfig:
		return checkCloudConfig(content)
	case KindMetaData:
		return checkMetaData(content)
	case KindYAML:
		_, probs := parseYAML(content)
		return probs
	case KindUnattend:
		return checkXML(content, true)
	case KindXML:
		return checkXML(content, false)
	}
	return nil
}

// lines splits content into lines without their "\n" or "\r\n".
func lines(content []byte) []string {
	ls := strings.Split(string(content), "\n")
	if len(ls) > 0 && ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	for i, l := range ls {
		ls[i] = strings.TrimSuffix(l, "\r")
	}
	return ls
}
