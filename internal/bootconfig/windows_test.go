package bootconfig

import (
	"encoding/xml"
	"errors"
	"io"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/menus"
)

// windowsSite is the embedded config with the catalog's Windows entry
// turned on: wimboot and WinPE on a file server, a share, a group whose
// kernel arguments wimboot must never see, and a machine with a share
// user (its password a secret).
var windowsSite = fstest.MapFS{"menus/machines.yaml": {Data: []byte(`
vars:
  windows_wimboot: http://files.lan/wimboot
  windows_winpe: http://files.lan/winpe/amd64
  windows_share: '\\fs.lan\win11'
  windows_image_name: Windows 11 Pro
groups:
  - {name: vms, match: {macs: ["52:54:00"]}, args: "console=ttyS0 panic=-1"}
machines:
  - {mac: "52:54:00:00:00:0a", name: win-a, default: windows}
  - {mac: "52:54:00:00:00:0b", name: win-b, default: windows, vars: {windows_share_user: 'LAB\deploy'}}
  - {mac: "52:54:00:00:00:0c", name: win-grub, default: windows, loader: grub}
`)}}

// windowsServer is a server whose installers get https:// while iPXE
// gets http://, with a download cache and the secret of win-b.
func windowsServer(cached *[]string) menus.Server {
	s := srv
	s.FilesURL = "https://boot.example:8443"
	s.Cache = func(u, sum, sums string) (string, error) {
		*cached = append(*cached, u)
		return "/cache/k/" + path.Base(u), nil
	}
	s.Secret = func(machine, name string) (string, error) {
		if machine == "win-b" && name == "windows_share_password" {
			return "s3cret", nil
		}
		return "", errors.New("no such secret")
	}
	return s
}

// block returns the part of an iPXE menu under label, up to the next one.
func block(script, label string) string {
	_, after, ok := strings.Cut(script, "\n:"+label+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(after, "\n:"); i >= 0 {
		after = after[:i]
	}
	return strings.TrimSpace(after)
}

// TestWindowsScript: the iPXE script of the Windows entry loads wimboot
// with nothing on its command line (it dies on an argument it does not
// know, initrd= and the group's console= among them), WinPE's files
// through the download cache and the machine's three files by name from
// this server, on the http:// base iPXE uses. GRUB and PXELINUX menus
// leave the entry out.
func TestWindowsScript(t *testing.T) {
	site, err := LoadOver(windowsSite, "test")
	if err != nil {
		t.Fatal(err)
	}
	var cached []string
	server := windowsServer(&cached)
	for _, platform := range []string{"pcbios", "efi"} {
		req := menus.Request{MAC: hw.MustParseMAC("52:54:00:00:00:0a"), BuildArch: "x86_64", Platform: platform,
			Arch: hw.ArchFromIPXE("x86_64", platform)}
		out, _, err := site.RenderMenu(IPXEMenu, req, server, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := `echo Booting Windows Setup (your wimboot and WinPE)
kernel http://10.231.0.1:8080/cache/k/wimboot || goto bw-failed
initrd --name bcd http://10.231.0.1:8080/cache/k/bcd || goto bw-failed
initrd --name boot.sdi http://10.231.0.1:8080/cache/k/boot.sdi || goto bw-failed
initrd --name boot.wim http://10.231.0.1:8080/cache/k/boot.wim || goto bw-failed
initrd --name startnet.cmd http://10.231.0.1:8080/files/52-54-00-00-00-0a/winpe/startnet.cmd || goto bw-failed
initrd --name winpeshl.ini http://10.231.0.1:8080/files/52-54-00-00-00-0a/winpe/winpeshl.ini || goto bw-failed
initrd --name autounattend.xml http://10.231.0.1:8080/files/52-54-00-00-00-0a/autounattend.xml || goto bw-failed
boot || goto bw-failed`
		if diff := cmp.Diff(want, block(string(out), "install.windows")); diff != "" {
			t.Errorf("%s: install.windows (-want +got):\n%s", platform, diff)
		}
		if !strings.Contains(string(out), "item --gap -- - Your own wimboot and WinPE (neither can be shipped); Setup runs unattended") {
			t.Errorf("%s: the entry's help does not say whose wimboot and WinPE they are", platform)
		}
		if !strings.Contains(string(out), "choose --timeout ${bw-timeout} --default install.windows selected") {
			t.Errorf("%s: a machine default of windows does not select it", platform)
		}
	}
	for _, u := range cached {
		if strings.Contains(u, "/files/") {
			t.Errorf("the download cache was asked for this server's %s", u)
		}
	}
	// GRUB cannot boot wimboot this way, nor PXELINUX: no entry.
	for _, tmpl := range []string{GRUBMenu, PXELinuxMenu} {
		req := menus.Request{MAC: hw.MustParseMAC("52:54:00:00:00:0c"), Arch: hw.ArchEFIx64}
		out, _, err := site.RenderMenu(tmpl, req, server, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), "wimboot") || strings.Contains(string(out), "Windows") {
			t.Errorf("%s shows the Windows entry:\n%s", tmpl, out)
		}
	}
}

// TestWindowsInjectedFiles renders each file the script names, as
// GET /files/<mac>/<name> would, for a machine with and without a share
// user: the names must be ones the machine may fetch, and what WinPE runs
// must map the share and start Setup with the machine's answer file.
func TestWindowsInjectedFiles(t *testing.T) {
	site, err := LoadOver(windowsSite, "test")
	if err != nil {
		t.Fatal(err)
	}
	var cached []string
	server := windowsServer(&cached)
	fileRE := regexp.MustCompile(`initrd --name (\S+) http://10\.231\.0\.1:8080/files/[0-9a-f-]+/(\S+) `)
	for _, tc := range []struct {
		mac, netUse string
	}{
		{"52:54:00:00:00:0a", `net use S: "\\fs.lan\win11"` + "\r\n"},
		{"52:54:00:00:00:0b", `net use S: "\\fs.lan\win11" /user:"LAB\deploy" "s3cret"` + "\r\n"},
	} {
		req := menus.Request{MAC: hw.MustParseMAC(tc.mac), BuildArch: "x86_64", Platform: "efi", Arch: hw.ArchEFIx64}
		menu, _, err := site.RenderMenu(IPXEMenu, req, server, nil)
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		for _, m := range fileRE.FindAllStringSubmatch(block(string(menu), "install.windows"), -1) {
			name, err := url.PathUnescape(m[2])
			if err != nil {
				t.Fatal(err)
			}
			out, _, err := site.RenderFile(name, req, server, nil)
			if err != nil {
				t.Fatalf("%s: %s: %v", tc.mac, name, err)
			}
			files[m[1]] = string(out)
		}
		if len(files) != 3 {
			t.Fatalf("%s: injected files %v, want startnet.cmd, winpeshl.ini and autounattend.xml", tc.mac, files)
		}
		start := files["startnet.cmd"]
		for _, want := range []string{"wpeinit\r\n", "wpeutil WaitForNetwork\r\n", tc.netUse,
			`S:\setup.exe /unattend:X:\Windows\System32\autounattend.xml`} {
			if !strings.Contains(start, want) {
				t.Errorf("%s: startnet.cmd lacks %q:\n%s", tc.mac, want, start)
			}
		}
		// cmd.exe reads batch files by CRLF lines.
		if bare := regexp.MustCompile(`[^\r]\n`).FindString(start); bare != "" {
			t.Errorf("%s: startnet.cmd has a bare LF: %q", tc.mac, bare)
		}
		if !strings.Contains(files["winpeshl.ini"], `%SYSTEMROOT%\System32\cmd.exe, /c %SYSTEMROOT%\System32\startnet.cmd`) {
			t.Errorf("%s: winpeshl.ini does not run startnet.cmd:\n%s", tc.mac, files["winpeshl.ini"])
		}
		ans := files["autounattend.xml"]
		if !strings.Contains(ans, "<Value>Windows 11 Pro</Value>") {
			t.Errorf("%s: autounattend.xml does not pick the machine's image:\n%s", tc.mac, ans)
		}
		if err := wellFormed(ans); err != nil {
			t.Errorf("%s: autounattend.xml: %v", tc.mac, err)
		}
	}
	// Without its secret the share user's machine fails to render, naming it.
	server.Secret = nil
	req := menus.Request{MAC: hw.MustParseMAC("52:54:00:00:00:0b"), Arch: hw.ArchEFIx64}
	if _, _, err := site.RenderFile("winpe/startnet.cmd", req, server, nil); err == nil || !strings.Contains(err.Error(), "windows_share_password") {
		t.Errorf("startnet.cmd without the password: %v", err)
	}
}

func wellFormed(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}
