package templates

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

//go:embed ipxe grub pxelinux raspberrypi files
var defaults embed.FS

// Dir is the directory of a config tree that holds templates.
const Dir = "templates"

// Ext is the file name extension of a template file.
const Ext = ".tmpl"

// Defaults returns the embedded default templates, rooted like a config
// directory's templates/ folder (e.g. "ipxe/menu.ipxe.tmpl").
func Defaults() fs.FS { return defaults }

// funcs is sprig's hermetic map (the full map would leak the server's
// environment through env and expandenv and make output non-deterministic)
// plus bootwright's own functions.
var funcs = func() template.FuncMap {
	m := sprig.HermeticTxtFuncMap()
	m["grubpath"] = grubPath
	m["grubargs"] = grubArgs
	m["grubquote"] = grubQuote
	return m
}()

// Funcs returns the function map templates are parsed with.
func Funcs() template.FuncMap { return funcs }

// Set is a parsed set of template files, looked up by their path under
// templates/ without the .tmpl extension ("ipxe/menu.ipxe").
type Set struct {
	byName map[string]*template.Template
}

// Load parses every *.tmpl file under dir in fsys. Errors name the file and
// line ("templates/ipxe/menu.ipxe.tmpl:12: ...").
func Load(fsys fs.FS, dir string) (*Set, error) {
	s := &Set{byName: map[string]*template.Template{}}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, Ext) {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		t, err := parse(p, string(src))
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, dir+"/"), Ext)
		s.byName[name] = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Names returns the names of the templates in the set.
func (s *Set) Names() []string {
	var out []string
	for n := range s.byName {
		out = append(out, n)
	}
	return out
}

// Has reports whether the set holds a template called name.
func (s *Set) Has(name string) bool { _, ok := s.byName[name]; return ok }

// Render executes the template called name with data and returns the
// complete output, or an error naming the template and line.
func (s *Set) Render(name string, data any) ([]byte, error) {
	t, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("no template %q", name)
	}
	buf := getBuf()
	defer putBuf(buf)
	if err := t.Execute(buf, data); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

// Text is a small template held in a config value, such as a menu entry's
// kernel URL "{{ .Vars.mirror }}/linux".
type Text struct {
	src string
	t   *template.Template // nil when src has no actions
}

// ParseText parses src as a template; name (usually "file:line") is used
// in errors.
func ParseText(name, src string) (Text, error) {
	if !strings.Contains(src, "{{") {
		return Text{src: src}, nil
	}
	t, err := parse(name, src)
	if err != nil {
		return Text{}, err
	}
	return Text{src: src, t: t}, nil
}

// String returns the template source.
func (t Text) String() string { return t.src }

// Execute renders the text with data.
func (t Text) Execute(data any) (string, error) {
	if t.t == nil {
		return t.src, nil
	}
	buf := getBuf()
	defer putBuf(buf)
	if err := t.t.Execute(buf, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// parse parses src under name (its path), so that errors read
// "template: templates/ipxe/menu.ipxe.tmpl:12: ...".
func parse(name, src string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Funcs(funcs).Parse(src)
}

var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { b := bufs.Get().(*bytes.Buffer); b.Reset(); return b }

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 {
		bufs.Put(b)
	}
}
