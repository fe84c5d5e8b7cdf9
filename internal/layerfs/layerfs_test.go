package layerfs

import (
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestOverlay(t *testing.T) {
	lower, err := Mount(map[string]fs.FS{
		"menus":     fstest.MapFS{"default.yaml": {Data: []byte("embedded")}, "extra.yaml": {Data: []byte("e")}},
		"templates": fstest.MapFS{"ipxe/menu.ipxe.tmpl": {Data: []byte("t")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	upper := fstest.MapFS{"menus/default.yaml": {Data: []byte("user")}, "menus/machines.yaml": {Data: []byte("m")}}
	o := Overlay{Upper: upper, Lower: lower}

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
	if err := fstest.TestFS(Overlay{Lower: lower}, "menus/default.yaml", "templates/ipxe/menu.ipxe.tmpl"); err != nil {
		t.Error(err)
	}
}
