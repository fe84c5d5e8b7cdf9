package layerfs

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestStackOverMount(t *testing.T) {
	lower, err := Mount(map[string]fs.FS{
		"menus":     fstest.MapFS{"default.yaml": {Data: []byte("embedded")}, "extra.yaml": {Data: []byte("e")}},
		"templates": fstest.MapFS{"ipxe/menu.ipxe.tmpl": {Data: []byte("t")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	upper := fstest.MapFS{"menus/default.yaml": {Data: []byte("user")}, "menus/machines.yaml": {Data: []byte("m")}}
	o := Stack{upper, lower}

	got, err := fs.ReadFile(o, "menus/default.yaml")
	if err != nil || string(got) != "user" {
		t.Errorf("upper file does not win: %q, %v", got, err)
	}
	if got, _ := fs.ReadFile(o, "templates/ipxe/menu.ipxe.tmpl"); string(got) != "t" {
		t.Errorf("lower file not visible: %q", got)
	}
	files, err := fs.Glob(o, "menus/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"menus/default.yaml", "menus/extra.yaml", "menus/machines.yaml"}, files); diff != "" {
		t.Errorf("merged listing (-want +got):\n%s", diff)
	}
	if _, err := fs.ReadDir(o, "nope"); err == nil {
		t.Error("ReadDir of a missing directory succeeded")
	}
	if err := fstest.TestFS(Stack{lower}, "menus/default.yaml", "templates/ipxe/menu.ipxe.tmpl"); err != nil {
		t.Error(err)
	}
}

// errLayer answers every name with err, like a Loaders layer that names
// the package to install.
type errLayer struct{ err error }

func (l errLayer) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: l.err}
}

var (
	errInstall = fmt.Errorf("install package x: %w", fs.ErrNotExist)
	errBroken  = errors.New("broken")
)

func TestStackOpen(t *testing.T) {
	d, _ := confined(t)
	lower := fstest.MapFS{
		"hello.txt": {Data: []byte("lower hello")},
		"only.txt":  {Data: []byte("lower only")},
		"fifo":      {Data: []byte("lower fifo")},
		"link-out":  {Data: []byte("lower link-out")},
		"sub":       {Mode: fs.ModeDir},
	}
	tests := map[string]struct {
		stack   Stack
		name    string
		want    string
		wantErr error // the error, when it must be one layer's own
	}{
		"upper wins":                    {Stack{d, lower}, "hello.txt", "hello", nil},
		"falls through":                 {Stack{d, lower}, "only.txt", "lower only", nil},
		"refused hides lower fifo":      {Stack{d, lower}, "fifo", "<refused>", nil},
		"refused hides lower link":      {Stack{d, lower}, "link-out", "<refused>", nil},
		"refused directory":             {Stack{d, lower}, "sub", "<refused>", nil},
		"missing everywhere":            {Stack{d, lower}, "nope", "<not found>", nil},
		"last layer's error":            {Stack{d, lower, errLayer{errInstall}}, "nope", "<not found>", errInstall},
		"not the last layer's if found": {Stack{d, errLayer{errInstall}, lower}, "only.txt", "lower only", nil},
		"broken layer answers":          {Stack{errLayer{errBroken}, lower}, "only.txt", "unexpected error: open only.txt: broken", errBroken},
		"invalid name":                  {Stack{lower}, "../only.txt", "<invalid>", nil},
		"empty stack":                   {Stack{}, "only.txt", "<not found>", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, read(t, tc.stack, tc.name)); diff != "" {
				t.Errorf("Open(%q) (-want +got):\n%s", tc.name, diff)
			}
			if tc.wantErr != nil {
				if _, err := tc.stack.Open(tc.name); !errors.Is(err, tc.wantErr) {
					t.Errorf("Open(%q) = %v, want %v", tc.name, err, tc.wantErr)
				}
			}
		})
	}
}

func TestStackStatReadDir(t *testing.T) {
	upper := fstest.MapFS{"d/a": {}, "d/b": {Data: []byte("upper")}, "file": {}}
	lower := fstest.MapFS{"d/b": {Data: []byte("lower!")}, "d/c": {}, "lower/x": {}}
	tests := map[string]struct {
		stack   Stack
		name    string
		entries []string
		err     string // outcome of ReadDir and of Stat
	}{
		"merged":           {Stack{upper, lower}, "d", []string{"a", "b", "c"}, "ok"},
		"lower only":       {Stack{upper, lower}, "lower", []string{"x"}, "ok"},
		"missing":          {Stack{upper, lower}, "nope", nil, "<not found>"},
		"invalid":          {Stack{upper, lower}, "/d", nil, "<invalid>"},
		"broken upper":     {Stack{errLayer{errBroken}, lower}, "d", nil, "unexpected error: open d: broken"},
		"last layer's err": {Stack{upper, errLayer{errInstall}}, "nope", nil, "<not found>"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			es, err := tc.stack.ReadDir(tc.name)
			if got := outcome(err); got != tc.err {
				t.Errorf("ReadDir(%q) = %s, want %s", tc.name, got, tc.err)
			}
			if diff := cmp.Diff(tc.entries, entryNames(es)); diff != "" {
				t.Errorf("ReadDir(%q) (-want +got):\n%s", tc.name, diff)
			}
			if _, err := tc.stack.Stat(tc.name); outcome(err) != tc.err {
				t.Errorf("Stat(%q) = %s, want %s", tc.name, outcome(err), tc.err)
			}
		})
	}
	// The upper file hides the lower one for Stat as for Open.
	fi, err := Stack{upper, lower}.Stat("d/b")
	if err != nil || fi.Size() != int64(len("upper")) {
		t.Errorf("Stat(d/b) = %v, %v; want the upper file", fi, err)
	}
	if _, err := (Stack{upper, errLayer{errInstall}}).Stat("nope"); !errors.Is(err, errInstall) {
		t.Errorf("Stat(nope) = %v, want the last layer's error", err)
	}
}
