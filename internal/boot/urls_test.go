package boot

import (
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/menus"
)

// TestBaseURLs: with an https:// PublicURL and http:// IPXEURL and
// LoaderURL, as serve builds them for iPXE that cannot verify the
// certificate, each client gets its own base: boot loaders (and the
// kernels and scripts they load) http://, installers (answer files and
// the callback) https://, in every renderer.
func TestBaseURLs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "menus", "default.yaml"), `title: t
default: inst
files: [preseed.cfg]
entries:
  - name: inst
    title: Installer
    kernel: d-i/linux
    initrds: [d-i/initrd.gz]
    args: url={{ .FileURL "preseed.cfg" }}
`)
	writeFile(t, filepath.Join(dir, "menus", "machines.yaml"), `machines:
  - {mac: "52:54:00:00:00:01", name: alpha}
  - {mac: "52:54:00:00:00:02", name: beta, loader: grub}
`)
	writeFile(t, filepath.Join(dir, "templates", "files", "preseed.cfg.tmpl"), "server {{ .Server.URL }}\ncallback {{ .Callback }}\n")
	b, err := bootconfig.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(filepath.Join(t.TempDir(), state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := st.Now()
	st.Bind(alpha, state.Binding{Addr: alphaIP, Since: now, Until: now.Add(time.Hour), Source: state.BoundByLease})
	p := testPolicy(t, "10.231.0.1", false)
	p.Config, p.State = bootconfig.NewLive(b), st
	p.PublicURL = "https://boot.example:8443/"
	p.IPXEURL, p.LoaderURL = "http://10.231.0.1:8080", "http://10.231.0.1:8081"

	req := p.Request(Client{MAC: alpha, Addr: alphaIP})
	render := map[string]func() ([]byte, error){
		"boot.ipxe": func() ([]byte, error) { return b.RenderBootScript(p.Server()) },
		"iPXE menu": func() ([]byte, error) { out, _, err := p.RenderMenu(bootconfig.IPXEMenu, req); return out, err },
		"GRUB menu": func() ([]byte, error) { out, _, err := p.RenderMenu(bootconfig.GRUBMenu, req); return out, err },
		"pxelinux":  func() ([]byte, error) { out, _, err := p.RenderMenu(bootconfig.PXELinuxMenu, req); return out, err },
		"preseed":   func() ([]byte, error) { out, _, err := p.RenderFile("preseed.cfg", req); return out, err },
		"chain": func() ([]byte, error) {
			out, _, err := p.TFTP(ChainScriptName(menus.LoaderGRUB), alphaIP)
			return out, err
		},
	}
	want := map[string][]string{
		"boot.ipxe": {"http://10.231.0.1:8080", "http://10.231.0.1:8080/ipxe/"},
		"iPXE menu": {"http://10.231.0.1:8080/assets/d-i/", "http://10.231.0.1:8080/ipxe/", "https://boot.example:8443/t/"}, // ipxe/: the failure path
		"GRUB menu": {"http://10.231.0.1:8081/assets/d-i/", "https://boot.example:8443/t/"},
		"pxelinux":  {"http://10.231.0.1:8081/assets/d-i/", "https://boot.example:8443/t/"},
		"preseed":   {"https://boot.example:8443", "https://boot.example:8443/api/v1/machines/"},
		"chain":     {"http://10.231.0.1:8080/boot.ipxe"},
	}
	url := regexp.MustCompile(`https?://[^/\s"';]+[^\s"',;]*`)
	grubURL := regexp.MustCompile(`\(http,([^)]+)\)`) // GRUB's (http,HOST:PORT)/path
	for name, f := range render {
		out, err := f()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, u := range url.FindAllString(grubURL.ReplaceAllString(string(out), "http://$1"), -1) {
			u = regexp.MustCompile(`(/assets/d-i/|/t/|/ipxe/|/api/v1/machines/).*`).ReplaceAllString(u, "$1")
			if !slices.Contains(got, u) {
				got = append(got, u)
			}
		}
		slices.Sort(got)
		if d := cmp.Diff(want[name], got); d != "" {
			t.Errorf("%s: base URLs (-want +got):\n%s\n%s", name, d, out)
		}
	}
}
