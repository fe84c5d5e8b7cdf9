package answers_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/layerfs"
	"github.com/bootwright/bootwright/menus"
	"github.com/google/go-cmp/cmp"
)

// TestShippedPreseedPackagesOnce: the shipped preseed's pkgsel/include
// names each package once, whether the template adds it (openssh-server,
// sudo without a user password, curl for the callback) or the machine's
// packages list repeats it.
func TestShippedPreseedPackagesOnce(t *testing.T) {
	const site = `machines:
  - mac: 52:54:00:a0:00:21
    vars: {packages: [curl, openssh-server, vim, vim]}
  - mac: 52:54:00:a0:00:22
    vars: {packages: [sudo, curl, htop, sudo], user_password_hash: "$6$abc$placeholder"}
  - mac: 52:54:00:a0:00:23
    vars: {packages: [openssh-server]}
`
	tests := map[string]struct {
		mac, callback string
		want          []string
	}{
		"callback and user's curl": {"52:54:00:a0:00:21", "http://10.231.0.1:8080/done/x", []string{"openssh-server", "sudo", "curl", "vim"}},
		"user's sudo, no callback": {"52:54:00:a0:00:22", "", []string{"openssh-server", "sudo", "curl", "htop"}},
		"user's openssh-server":    {"52:54:00:a0:00:23", "", []string{"openssh-server", "sudo"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := renderPreseed(t, site, tc.mac, tc.callback)
			if err != nil {
				t.Fatal(err)
			}
			got := pkgselInclude(t, out)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pkgsel/include (-want +got):\n%s", diff)
			}
		})
	}
}

// pkgselInclude returns the packages of the preseed's one
// "d-i pkgsel/include string" line.
func pkgselInclude(t *testing.T, preseed string) []string {
	t.Helper()
	var lines []string
	for line := range strings.Lines(preseed) {
		if rest, ok := strings.CutPrefix(line, "d-i pkgsel/include string"); ok {
			lines = append(lines, rest)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d pkgsel/include lines, want 1:\n%s", len(lines), preseed)
	}
	return strings.Fields(lines[0])
}

// TestShippedPreseedTasks: tasksel/first is standard and ssh-server while
// the tasks variable is unset, the list given otherwise ([] installs no
// task), and anything but a list of names fails the render.
func TestShippedPreseedTasks(t *testing.T) {
	const site = `machines:
  - mac: 52:54:00:a0:00:31
  - mac: 52:54:00:a0:00:32
    vars: {tasks: []}
  - mac: 52:54:00:a0:00:33
    vars: {tasks: [ssh-server, web-server]}
  - mac: 52:54:00:a0:00:34
    vars: {tasks: standard}
  - mac: 52:54:00:a0:00:35
    vars: {tasks: ["ssh-server\nd-i partman/confirm boolean false"]}
`
	tests := map[string]struct {
		mac, want, wantErr string
	}{
		"unset":      {mac: "52:54:00:a0:00:31", want: "tasksel tasksel/first multiselect standard, ssh-server"},
		"empty":      {mac: "52:54:00:a0:00:32", want: "tasksel tasksel/first multiselect"},
		"two":        {mac: "52:54:00:a0:00:33", want: "tasksel tasksel/first multiselect ssh-server, web-server"},
		"not a list": {mac: "52:54:00:a0:00:34", wantErr: `variable "tasks" must be a list`},
		"newline":    {mac: "52:54:00:a0:00:35", wantErr: "is not a Debian package name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := renderPreseed(t, site, tc.mac, "")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("render: %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for line := range strings.Lines(out) {
				if strings.HasPrefix(line, "tasksel tasksel/first ") {
					got = append(got, strings.TrimSuffix(line, "\n"))
				}
			}
			if diff := cmp.Diff([]string{tc.want}, got); diff != "" {
				t.Errorf("tasksel/first lines (-want +got):\n%s", diff)
			}
		})
	}
}

// renderPreseed renders the shipped preseed for mac under the site's
// machines.yaml, with callback as the server would set it.
func renderPreseed(t *testing.T, machinesYAML, mac, callback string) (string, error) {
	t.Helper()
	def, err := bootconfig.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	site := fstest.MapFS{"menus/machines.yaml": {Data: []byte(machinesYAML)}}
	b, err := bootconfig.LoadFS("", layerfs.Stack{site, def})
	if err != nil {
		t.Fatal(err)
	}
	m, err := hw.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.Menus.Resolve(menus.Request{MAC: m}, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Callback = callback
	out, err := b.Templates.Render(bootconfig.FilesDir+"/preseed.cfg", d)
	return string(out), err
}
