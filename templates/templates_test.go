package templates

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadAndRender(t *testing.T) {
	s, err := Load(fstest.MapFS{
		"templates/a/hello.txt.tmpl": {Data: []byte(`hello {{ .Name | upper }}`)},
		"templates/README.md":        {Data: []byte("not a template")},
	}, Dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Render("a/hello.txt", map[string]any{"Name": "lab"})
	if err != nil || string(out) != "hello LAB" {
		t.Errorf("Render = %q, %v", out, err)
	}
	if _, err := s.Render("a/hello.txt", map[string]any{}); err == nil || !strings.Contains(err.Error(), "templates/a/hello.txt.tmpl:1") {
		t.Errorf("missing key: err = %v, want an error naming the file and line", err)
	}
	if _, err := s.Render("nope", nil); err == nil {
		t.Error("unknown template rendered")
	}
}

func TestLoadParseErrorNamesFileAndLine(t *testing.T) {
	_, err := Load(fstest.MapFS{"templates/ipxe/menu.ipxe.tmpl": {Data: []byte("#!ipxe\n\n{{ if }}\n")}}, Dir)
	if err == nil || !strings.Contains(err.Error(), "templates/ipxe/menu.ipxe.tmpl:3") {
		t.Errorf("err = %v, want file:line", err)
	}
}

func TestHermetic(t *testing.T) {
	for _, name := range []string{"env", "expandenv", "randAlpha", "now", "uuidv4"} {
		if _, ok := Funcs()[name]; ok {
			t.Errorf("non-hermetic function %q is available", name)
		}
	}
	for _, name := range []string{"upper", "default", "join", "b64enc"} {
		if _, ok := Funcs()[name]; !ok {
			t.Errorf("function %q is missing", name)
		}
	}
}

func TestText(t *testing.T) {
	plain, err := ParseText("x:1", "http://mirror/linux")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := plain.Execute(nil); got != "http://mirror/linux" {
		t.Errorf("plain text = %q", got)
	}
	tpl, err := ParseText("x:2", "{{ .m }}/linux")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tpl.Execute(map[string]any{"m": "http://a"}); got != "http://a/linux" || err != nil {
		t.Errorf("Execute = %q, %v", got, err)
	}
	if _, err := ParseText("menus/default.yaml:7 kernel", "{{ .m "); err == nil || !strings.Contains(err.Error(), "menus/default.yaml:7") {
		t.Errorf("parse error = %v", err)
	}
}
