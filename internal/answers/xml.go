package answers

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// UnattendNS is the namespace of a Windows Setup answer file's elements.
const UnattendNS = "urn:schemas-microsoft-com:unattend"

// unattendPasses are the configuration passes a settings element may name.
var unattendPasses = setOf("windowsPE", "offlineServicing", "generalize",
	"specialize", "auditSystem", "auditUser", "oobeSystem")

// checkXML checks that content is well-formed XML with one root element;
// for an answer file (unattend) also that the root is unattend in
// UnattendNS and every settings element names a known pass.
func checkXML(content []byte, unattend bool) []Problem {
	d := xml.NewDecoder(bytes.NewReader(content))
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		return nil, errors.New("only UTF-8 is supported")
	}
	var probs []Problem
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		line, _ := d.InputPos()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				line = se.Line
			}
			msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("XML syntax error on line %d: ", line))
			msg = strings.TrimPrefix(msg, "xml: ")
			return append(probs, Problem{line, "XML: " + msg})
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots == 2 {
					probs = append(probs, Problem{line, fmt.Sprintf("a second root element <%s>", t.Name.Local)})
				}
				if unattend && roots == 1 && (t.Name.Local != "unattend" || t.Name.Space != UnattendNS) {
					probs = append(probs, Problem{line, fmt.Sprintf("root element is <%s> in namespace %q, want <unattend> in %q", t.Name.Local, t.Name.Space, UnattendNS)})
				}
			}
			if unattend && depth == 1 && t.Name.Local == "settings" {
				if pass := attr(t, "pass"); !unattendPasses[pass] {
					probs = append(probs, Problem{line, fmt.Sprintf("settings pass %q is not one of windowsPE, offlineServicing, generalize, specialize, auditSystem, auditUser, oobeSystem", clip(pass))})
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				probs = append(probs, Problem{line, "text outside the root element"})
			}
		}
	}
	if roots == 0 {
		probs = append(probs, Problem{0, "no root element"})
	}
	return probs
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// rootIsUnattend reports whether content's root element is unattend.
func rootIsUnattend(content []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(content))
	d.CharsetReader = func(string, io.Reader) (io.Reader, error) { return nil, errors.New("unsupported") }
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if t, ok := tok.(xml.StartElement); ok {
			return t.Name.Local == "unattend"
		}
	}
}
