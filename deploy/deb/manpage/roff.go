package main

import (
	"bytes"
	_ "embed"
	"strings"
	"text/template"
)

//go:embed bootwright.1.tmpl
var pageTemplate string

// Page is what the man page template renders.
type Page struct {
	Version  string // as bootwright version prints it
	Date     string // YYYY-MM-DD
	Commands []Command
}

var page = template.Must(template.New("bootwright.1").
	Option("missingkey=error").
	Funcs(template.FuncMap{"roff": roff, "arg": arg}).
	Parse(pageTemplate))

// render writes p as a man(7) page.
func render(p Page) ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// roff escapes text for a man page body: backslashes and hyphens (an
// unescaped - may print as a hyphen, and --flags must copy as minus
// signs), a leading . or ' (a request otherwise), and a line break
// becomes .br.
func roff(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n.br\n")
}

// arg is roff for a quoted macro argument: one line, no bare quotes.
func arg(s string) string {
	s = strings.ReplaceAll(roff(strings.ReplaceAll(s, "\n", " ")), `"`, `\(dq`)
	return `"` + s + `"`
}
