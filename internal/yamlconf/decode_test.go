package yamlconf

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

type settings struct {
	Menu    string         `yaml:"menu"`
	Timeout *duration      `yaml:"timeout"`
	Vars    map[string]any `yaml:"vars"`
}

type machine struct {
	MAC      string   `yaml:"mac"`
	Labels   []string `yaml:"labels"`
	Hidden   string   `yaml:"-"`
	Plain    int
	settings `yaml:",inline"`

	pos string
}

type selector struct {
	Arch []string `yaml:"arch"`
}

type group struct {
	Name  string   `yaml:"name"`
	Match selector `yaml:"match"`
}

type file struct {
	Machines []machine           `yaml:"machines"`
	Groups   []*group            `yaml:"groups"`
	ByName   map[string]selector `yaml:"by_name"`
	Extra    struct {
		Burst int `yaml:"burst"`
	} `yaml:"extra"`
	Rest map[string]any `yaml:",inline"`
}

type strictFile struct {
	Machines []machine `yaml:"machines"`
}

// duration decodes itself, so its node is not walked.
type duration struct{ time.Duration }

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

var names = Names{reflect.TypeFor[machine](): "in a machine", reflect.TypeFor[group](): "in a group"}

func TestDecodeErrors(t *testing.T) {
	const machineKeys = "(known: mac, labels, plain, menu, timeout, vars)"
	tests := map[string]struct {
		v    any
		yaml string
		want string
	}{
		"unknown key in a machine": {&strictFile{}, "machines:\n  - mac: x\n\n    colour: red\n",
			`m.yaml:4: unknown key "colour" in a machine ` + machineKeys},
		"the first of two": {&strictFile{}, "machines:\n  - {mac: x, b: 1}\n  - {a: 1}\n",
			`m.yaml:2: unknown key "b" in a machine ` + machineKeys},
		"unknown top key":      {&strictFile{}, "machine:\n  - mac: x\n", `m.yaml:1: unknown key "machine" at the top level (known: machines)`},
		"skipped field":        {&strictFile{}, "machines:\n  - hidden: x\n", `m.yaml:2: unknown key "hidden" in a machine`},
		"unexported field":     {&strictFile{}, "machines:\n  - pos: x\n", `m.yaml:2: unknown key "pos" in a machine`},
		"in a pointer's group": {&file{}, "groups:\n  - name: g\n    match: {arch: [bios], mac: x}\n", `m.yaml:3: unknown key "mac" under "match" (known: arch)`},
		"in a map's value":     {&file{}, "by_name:\n  a: {arch: []}\n  b:\n    archs: []\n", `m.yaml:4: unknown key "archs" under "b" (known: arch)`},
		"in an anonymous struct": {&file{}, "extra: {burst: 1, rate: 2}\n",
			`m.yaml:1: unknown key "rate" under "extra" (known: burst)`},
		"an anchor at the top": {&strictFile{}, "base: &b {mac: x, colour: red}\nmachines:\n  - <<: *b\n",
			`m.yaml:1: unknown key "base" at the top level (known: machines)`},
		"through a merge key": {&file{}, "x-base: &b {menu: m, colour: red}\nmachines:\n  - <<: *b\n    mac: y\n",
			`m.yaml:1: unknown key "colour" in a machine ` + machineKeys},
		"through an alias": {&file{}, "x-m: &m {mac: x, colour: red}\nmachines: [*m]\n",
			`m.yaml:1: unknown key "colour" in a machine ` + machineKeys},
		"syntax error":    {&strictFile{}, "machines:\n  - mac: [\n", "m.yaml:2: did not find expected node content"},
		"own unmarshaler": {&strictFile{}, "machines:\n  - timeout: soon\n", `m.yaml:2: invalid duration "soon"`},
		"wrong type":      {&strictFile{}, "machines:\n  - labels: {a: 1}\n", "m.yaml:2: cannot unmarshal !!map into []string"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Decode("m.yaml", []byte(tc.yaml), tc.v, names)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("error\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	src := "x-base: &b {menu: m}\nmachines:\n  - <<: *b\n    mac: a\n    plain: 3\n    timeout: 2s\n    vars: {anything: [1, {deep: true}]}\ngroups:\n  - {name: g}\nother: kept\n"
	var f file
	root, err := Decode("m.yaml", []byte(src), &f, names)
	if err != nil {
		t.Fatal(err)
	}
	want := []machine{{MAC: "a", Plain: 3, settings: settings{Menu: "m", Timeout: &duration{2 * time.Second},
		Vars: map[string]any{"anything": []any{1, map[string]any{"deep": true}}}}}}
	if diff := cmp.Diff(want, f.Machines, cmp.AllowUnexported(machine{})); diff != "" {
		t.Errorf("machines (-want +got):\n%s", diff)
	}
	if f.Rest["other"] != "kept" || f.Rest["x-base"] == nil {
		t.Errorf("inline map %v", f.Rest)
	}
	if root.Kind != yaml.DocumentNode || root.Content[0].Content[2].Line != 2 {
		t.Errorf("root node %+v", root)
	}
	root, err = Decode("empty.yaml", nil, &f, names)
	if err != nil || len(root.Content) != 0 {
		t.Errorf("empty file: %v, %+v", err, root)
	}
}
