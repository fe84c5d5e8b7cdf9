package menus

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"
)

// entryLines is a menu whose entry "a" starts on line 3 and sets each
// field on a line of its own, for errors that must point at the field.
const entryLines = `title: t
entries:
  - name: a
    type: kernel
    title: %s
    kernel: %s
    initrds:
      - ok.img
      - %s
    args: %s
  - {name: local, type: local}
`

// TestEntryErrorLines: an error about one field of an entry names the
// line of that field, not the entry's first line.
func TestEntryErrorLines(t *testing.T) {
	fill := func(title, kernel, initrd, args string) string {
		return fmt.Sprintf(entryLines, title, kernel, initrd, args)
	}
	load := map[string]struct{ menu, want string }{
		"title on two lines":    {fill(`"one\ntwo"`, "k", "i", "x"), `menus/default.yaml:5: entry "a": title must be one line`},
		"broken title template": {fill(`"{{ .Vars.x "`, "k", "i", "x"), "template: menus/default.yaml:5 title:1:"},
		"broken kernel":         {fill("t", `"{{ .Vars.x "`, "i", "x"), "template: menus/default.yaml:6 kernel:1:"},
		"broken second initrd":  {fill("t", "k", `"{{ .Vars.x "`, "x"), "template: menus/default.yaml:9 initrd:1:"},
		"broken args":           {fill("t", "k", "i", `"{{ .Vars.x "`), "template: menus/default.yaml:10 args:1:"},
		"bad type": {strings.Replace(fill("t", "k", "i", "x"), "type: kernel", "type: floppy", 1),
			`menus/default.yaml:4: entry "a": unknown type "floppy"`},
	}
	for name, tc := range load {
		t.Run(name, func(t *testing.T) {
			_, err := Load(tree(map[string]string{"menus/default.yaml": tc.menu}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
	render := map[string]struct{ menu, want string }{
		"title needs a variable":     {fill(`"{{ .Vars.nope }}"`, "k", "i", "x"), `menus/default.yaml:5: entry "a": template: menus/default.yaml:5 title:`},
		"control character in title": {fill(`"{{ .Vars.bell }}"`, "k", "i", "x"), `menus/default.yaml:5: entry "a": title "\a" has a control character`},
		"space in second initrd":     {fill("t", "k", `"a {{ .Vars.site }}"`, "x"), `menus/default.yaml:9: entry "a": initrd`},
		"args needs a variable":      {fill("t", "k", "i", `"{{ .Vars.nope }}"`), `menus/default.yaml:10: entry "a": template: menus/default.yaml:10 args:`},
	}
	for name, tc := range render {
		t.Run(name, func(t *testing.T) {
			c, err := Load(tree(map[string]string{"menus/default.yaml": tc.menu,
				"menus/machines.yaml": "vars: {bell: \"\\a\", site: lab}\n"}))
			if err != nil {
				t.Fatal(err)
			}
			d, err := c.Resolve(Request{MAC: hw.MAC{2, 0, 0, 0, 0, 1}}, Server{URL: "http://s", AssetsURL: "http://s/assets"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Errors) != 1 || !strings.Contains(d.Errors[0].Error(), tc.want) {
				t.Errorf("errors %v\nwant one containing %q", d.Errors, tc.want)
			}
		})
	}
}
