package answers_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bootwright/bootwright/internal/answers"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/golden"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/layerfs"
	"github.com/bootwright/bootwright/menus"
)

var requireTools = flag.Bool("answers.require-tools", false,
	"fail instead of skipping when cloud-init, xmllint, debconf-set-selections or python3-yaml is missing (make answerstest)")

var srv = menus.Server{URL: "http://10.231.0.1:8080", AssetsURL: "http://10.231.0.1:8080/assets"}

// shipped are the per-machine files in templates/files/ and their kinds.
var shipped = []struct{ file, kind string }{
	{"kickstart.ks", answers.KindKickstart},
	{"preseed.cfg", answers.KindPreseed},
	{"autoinstall/user-data", answers.KindCloudConfig},
	{"autoinstall/meta-data", answers.KindMetaData},
	{"autounattend.xml", answers.KindUnattend},
}

// variants are the machines of testdata/site rendered, one of them also
// with an install callback (whose URL needs quoting).
var variants = []struct {
	name, mac, callback string
}{
	{"lab-01", "52:54:00:a0:00:01", ""},
	{"lab-02", "52:54:00:a0:00:02", ""},
	{"lab-02-callback", "52:54:00:a0:00:02", "http://10.231.0.1:8080/done/52-54-00-a0-00-02?token=it's&step=1"},
	{"unknown", "02:00:00:00:00:99", ""},
}

type renderedFile struct {
	variant, file, kind string
	out                 []byte
}

// renderShipped renders every shipped file for every variant.
func renderShipped(t *testing.T) []renderedFile {
	t.Helper()
	b, err := bootconfig.Load("testdata/site")
	if err != nil {
		t.Fatal(err)
	}
	var all []renderedFile
	for _, v := range variants {
		mac, err := hw.ParseMAC(v.mac)
		if err != nil {
			t.Fatal(err)
		}
		req := menus.Request{MAC: mac}
		for _, f := range shipped {
			var out []byte
			if v.callback == "" {
				out, _, err = b.RenderFile(f.file, req, srv, nil)
			} else {
				// The server sets Data.Callback; render as it would.
				var d *menus.Data
				if d, err = b.Menus.Resolve(req, srv, nil); err == nil {
					d.Callback = v.callback
					out, err = b.Templates.Render(bootconfig.FilesDir+"/"+f.file, d)
				}
			}
			if err != nil {
				t.Fatalf("%s %s: %v", v.name, f.file, err)
			}
			all = append(all, renderedFile{v.name, f.file, f.kind, out})
		}
	}
	return all
}

func TestShippedGolden(t *testing.T) {
	for _, r := range renderShipped(t) {
		golden.Assert(t, filepath.Join("testdata", "golden", r.variant, r.file), string(r.out))
	}
}

func TestShippedCheck(t *testing.T) {
	for _, r := range renderShipped(t) {
		if got := answers.Kind(r.file, r.out); got != r.kind {
			t.Errorf("%s %s: Kind = %q, want %q", r.variant, r.file, got, r.kind)
		}
		for _, p := range answers.Check(r.kind, r.out) {
			t.Errorf("%s %s: %v", r.variant, r.file, p)
		}
	}
}

// tool returns the path of a validator, skipping the test when it is
// missing (failing with -answers.require-tools).
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if *requireTools {
			t.Fatalf("%s not found (Debian package %s; scripts/install-deps.sh installs it)", name, pkg)
		}
		t.Skipf("%s not found (Debian package %s)", name, pkg)
	}
	return p
}

// validate runs the real validator for kind on file and returns its
// combined output and whether it accepted the file. ok is false with no
// output when no validator exists for kind.
func validate(t *testing.T, kind, file string) (out string, ok, checked bool) {
	t.Helper()
	var cmd *exec.Cmd
	switch kind {
	case answers.KindCloudConfig:
		cmd = exec.Command(tool(t, "cloud-init", "cloud-init"), "schema", "--config-file", file)
	case answers.KindUnattend, answers.KindXML:
		cmd = exec.Command(tool(t, "xmllint", "libxml2-utils"), "--noout", file)
	case answers.KindPreseed:
		cmd = exec.Command(tool(t, "debconf-set-selections", "debconf"), "--checkonly", file)
	case answers.KindMetaData:
		// NoCloud meta-data is read with PyYAML's safe_load, as cloud-init does.
		py := tool(t, "python3", "python3-yaml")
		if exec.Command(py, "-c", "import yaml").Run() != nil {
			if *requireTools {
				t.Fatal("python3-yaml is not installed")
			}
			t.Skip("python3-yaml is not installed")
		}
		cmd = exec.Command(py, "-c", `import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert isinstance(d, dict), "not a mapping"
assert d.get("instance-id"), "no instance-id"`, file)
	case answers.KindKickstart:
		// Debian has no pykickstart package; use ksvalidator when present.
		p, err := exec.LookPath("ksvalidator")
		if err != nil {
			return "", false, false
		}
		cmd = exec.Command(p, file)
	default:
		return "", false, false
	}
	b, err := cmd.CombinedOutput()
	out = strings.TrimSpace(string(b))
	// debconf-set-selections only warns (exit 0) about an unknown type.
	ok = err == nil && !strings.Contains(out, "warning:") && !strings.Contains(out, "error:")
	return out, ok, true
}

// TestShippedTools validates every rendered shipped file with the real
// tool for its kind.
func TestShippedTools(t *testing.T) {
	dir := t.TempDir()
	for _, r := range renderShipped(t) {
		t.Run(r.variant+"/"+r.file, func(t *testing.T) {
			file := filepath.Join(dir, r.variant+"-"+strings.ReplaceAll(r.file, "/", "-"))
			if err := os.WriteFile(file, r.out, 0o644); err != nil {
				t.Fatal(err)
			}
			out, ok, checked := validate(t, r.kind, file)
			if !checked {
				t.Skipf("no validator for %s on this system", r.kind)
			}
			if !ok {
				t.Errorf("rejected:\n%s", out)
			}
			if out != "" {
				t.Logf("%s", out)
			}
		})
	}
}

// TestToolsAgree feeds broken files to Check and to the real tools: both
// must reject each, so Check is not weaker than the tools on these.
func TestToolsAgree(t *testing.T) {
	tests := map[string]struct {
		kind, content string
	}{
		"user-data without header":   {answers.KindCloudConfig, "autoinstall:\n  version: 1\n"},
		"user-data bad yaml":         {answers.KindCloudConfig, "#cloud-config\nautoinstall: [\n"},
		"unattend unclosed element":  {answers.KindUnattend, "<unattend xmlns=\"urn:schemas-microsoft-com:unattend\">\n<settings pass=\"specialize\">\n</unattend>\n"},
		"unattend bad entity":        {answers.KindUnattend, "<unattend xmlns=\"urn:schemas-microsoft-com:unattend\">a & b</unattend>\n"},
		"preseed unknown type":       {answers.KindPreseed, "d-i netcfg/get_hostname strin host\n"},
		"preseed owner only":         {answers.KindPreseed, "d-i\n"},
		"meta-data without instance": {answers.KindMetaData, "local-hostname: x\n"},
	}
	dir := t.TempDir()
	i := 0
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			i++
			if len(answers.Check(tc.kind, []byte(tc.content))) == 0 {
				t.Errorf("Check found no problem")
			}
			file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if err := os.WriteFile(file, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			out, ok, checked := validate(t, tc.kind, file)
			if checked && ok {
				t.Errorf("the real tool accepted it:\n%s", out)
			}
		})
	}
}

// TestRenderRefusesUnsafeValues: a value no quoting can make safe (a
// newline in a line-based format, a user name sudoers and paths cannot
// hold, a number where a list belongs) fails the render, naming the
// template; the YAML files escape a
// newline instead and stay one valid document.
func TestRenderRefusesUnsafeValues(t *testing.T) {
	def, err := bootconfig.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	site := fstest.MapFS{"menus/machines.yaml": {Data: []byte(`machines:
  - mac: 52:54:00:a0:00:08
    hostname: "evil\nd-i preseed/late_command string reboot"
  - mac: 52:54:00:a0:00:09
    vars: {username: "root; rm -rf /"}
  - mac: 52:54:00:a0:00:0a
    vars: {packages: 3}
  - mac: 52:54:00:a0:00:0b
    vars: {ssh_authorized_keys: 2}
`)}}
	b, err := bootconfig.LoadFS("", layerfs.Stack{site, def})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		mac      string
		rendered []string // files that render (escaped); the others must fail
	}{
		"newline in hostname": {"52:54:00:a0:00:08", []string{"autoinstall/user-data", "autoinstall/meta-data"}},
		"shell in username":   {"52:54:00:a0:00:09", []string{"autoinstall/meta-data", "autounattend.xml"}},
		// A list variable set to a number N: ranged over, it was 0 to N-1
		// (packages 0, 1 and 2; a large N hung the render).
		"number as packages": {"52:54:00:a0:00:0a", []string{"autoinstall/meta-data", "autounattend.xml"}},
		"number as keys":     {"52:54:00:a0:00:0b", []string{"autoinstall/meta-data", "autounattend.xml"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mac, _ := hw.ParseMAC(tc.mac)
			for _, f := range shipped {
				out, _, err := b.RenderFile(f.file, menus.Request{MAC: mac}, srv, nil)
				if slices.Contains(tc.rendered, f.file) {
					if err != nil {
						t.Errorf("%s: %v", f.file, err)
					} else if probs := answers.Check(f.kind, out); len(probs) > 0 {
						t.Errorf("%s: %v\n%s", f.file, probs, out)
					}
					continue
				}
				if err == nil {
					t.Errorf("%s rendered:\n%s", f.file, out)
				} else if !strings.Contains(err.Error(), "templates/files/"+f.file+".tmpl") {
					t.Errorf("%s: error does not name the template: %v", f.file, err)
				}
			}
		})
	}
}

// TestInstallerEntriesPointAtAllowedFiles: each installer entry of the
// default menu passes the URL of a shipped file that the machine may
// fetch, in the form the installer expects, in every loader's syntax.
func TestInstallerEntriesPointAtAllowedFiles(t *testing.T) {
	b, err := bootconfig.Load("testdata/site")
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := hw.ParseMAC("52:54:00:a0:00:02")
	req := menus.Request{MAC: mac, BuildArch: "x86_64", Platform: "efi", Arch: hw.ArchEFIx64}
	d, err := b.Menus.Resolve(req, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := srv.URL + "/files/52-54-00-a0-00-02/"
	want := map[string]struct{ arg, file string }{
		"debian-12-installer": {"url=" + base + "preseed.cfg", "preseed.cfg"},
		"fedora-installer":    {"inst.ks=" + base + "kickstart.ks", "kickstart.ks"},
		"ubuntu-autoinstall":  {"ds=nocloud-net;s=" + base + "autoinstall/", "autoinstall/user-data"},
	}
	var entries []menus.ResolvedEntry
	var walk func(m *menus.MenuData)
	walk = func(m *menus.MenuData) {
		for _, e := range m.Entries {
			if e.Submenu != nil {
				walk(e.Submenu)
			}
			entries = append(entries, e)
		}
	}
	walk(&d.Menu)
	for _, e := range entries {
		w, ok := want[e.Name]
		if !ok {
			continue
		}
		delete(want, e.Name)
		if !slices.Contains(strings.Fields(e.Args), w.arg) {
			t.Errorf("%s: args %q lack %q", e.Name, e.Args, w.arg)
		}
		if !d.AllowsFile(w.file) {
			t.Errorf("%s: machine may not fetch %s (files %v)", e.Name, w.file, d.Files())
		}
	}
	for name := range want {
		t.Errorf("entry %s missing from the default menu and its submenus", name)
	}
	// GRUB would end the command at the ";" of ds=nocloud-net;s=...
	grub, _, err := b.RenderMenu(bootconfig.GRUBMenu, req, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(grub), "'ds=nocloud-net;s="+base+"autoinstall/'") {
		t.Errorf("GRUB menu does not quote the NoCloud argument:\n%s", grub)
	}
}
