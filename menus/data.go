package menus

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/route"
)

// Request describes the client asking.
type Request struct {
	MAC       hw.MAC
	Arch      hw.Arch    // the client's arch family; hw.ArchUnknown when it did not say
	BuildArch string     // iPXE ${buildarch}: i386, x86_64, arm64
	Platform  string     // iPXE ${platform}: pcbios, efi
	ClientIP  netip.Addr // the address the request came from
	// State is the machine's install state as recorded by the server
	// ("installed" turns an install entry off); empty when unknown.
	State string
	// Callback is the URL this machine's installer calls when done,
	// copied into Data.Callback; empty when install tracking is off.
	Callback string
	// FileToken, when set, is put into the URLs FileURL makes, so that a
	// machine can fetch its files from any address (proxy mode, relays).
	FileToken string
	// NoToken says why a request that could carry tokens got none (it
	// came from an address that is not the machine's bound one); it
	// becomes a note in the rendered menu.
	NoToken string
}

// Server holds the URLs clients reach this server by.
type Server struct {
	URL       string // base URL of the client reading the template, no trailing slash
	AssetsURL string // URL of the assets directory, no trailing slash
	// FilesURL is the base of the URLs FileURL makes, for installers,
	// no trailing slash; empty means URL. It differs from URL in a menu
	// whose boot loader gets http:// while installers get https://.
	FilesURL string
	// Cache, when set, registers an upstream URL (with its expected
	// sha256, or "", and the URL of the checksum list that gives it, or
	// "") with the download cache and returns the path it is served at on
	// this server. Entries with cache: true, sha256 or sums use it.
	Cache func(upstream, sha256, sums string) (string, error)
	// Secret returns a named secret for a machine (see Data.Secret); nil
	// means none are available and Secret fails.
	Secret func(machine, name string) (string, error)
	// TFTPAssetsURL is the assets directory over TFTP, "tftp://HOST/assets"
	// with no trailing slash, when this server serves it there; empty
	// otherwise. Secure Boot machines load their kernels from it (see
	// Data.BootURL).
	TFTPAssetsURL string
	// Version is bootwright's version, for menu footers.
	Version string
}

// Data is everything a menu or per-machine file template sees.
type Data struct {
	Server  Server
	Request Request
	Machine MachineData
	Menu    MenuData
	Vars    map[string]any // defaults < group < machine
	Loader  string         // ipxe, pxelinux, grub or raspberrypi
	// SecureBoot is the machine's secure_boot setting: its x86-64 UEFI
	// firmware boots shim, then GRUB, which loads files over TFTP only.
	SecureBoot bool
	// FileAccess is "machine", "token-anywhere" or "open" (see
	// Settings.FileAccess).
	FileAccess string
	// Callback is the URL an installer calls when it has finished (a POST
	// from kickstart %post, preseed late_command, autoinstall late-commands
	// or Windows SetupComplete); empty when install tracking is off.
	Callback string
	// Notes are problems found while resolving that did not stop it, such
	// as a default entry that does not exist. They are logged and written
	// into rendered menus as comments.
	Notes []string
	// Errors are entries left out because they failed to expand (a
	// template error, a value with a newline). The server logs them;
	// check and reload refuse a config that has any.
	Errors []error

	files    []string          // per-machine files this machine may fetch
	fileRefs []string          // names passed to FileURL while resolving
	mirrors  map[string]string // upstreams by name, for Mirror
	noArch   map[string]bool   // entries left out for booting nothing on this arch
}

// MachineData is the machine part of Data.
type MachineData struct {
	Name     string
	Hostname string // from machines.yaml, else Name
	MAC      string // 52:54:00:12:34:56
	Known    bool   // listed in machines.yaml
	Labels   []string
	Group    string // the group that matched, "" for none
	IP       string // reserved address, "" for none
}

// MenuData is a resolved menu: entries expanded and filtered.
type MenuData struct {
	Name  string
	Title string
	// Timeout is how long the menu waits before it boots the default
	// entry (0: at once), unless Never: then it waits for a choice.
	Timeout time.Duration
	Never   bool
	Default string // label of the default entry
	Entries []ResolvedEntry
}

// ResolvedEntry is an entry with its templates executed.
type ResolvedEntry struct {
	Name, Title, Type string
	Help              string // one line of help under the entry, or ""
	// Label is unique in the whole menu tree: the name, prefixed with the
	// submenu's label and "." inside submenus.
	Label   string
	Kernel  string   // kernel URL
	Initrds []Initrd // initrd URLs, each with the name the loader gives it
	Args    string   // kernel command line, group and machine args appended
	URL     string   // chain target
	Sums    string   // the distribution's checksum list for Kernel and Initrds, "" for none
	Submenu *MenuData
}

// InitrdURLs returns the URLs of the entry's initrds.
func (e *ResolvedEntry) InitrdURLs() []string {
	out := make([]string, len(e.Initrds))
	for i, in := range e.Initrds {
		out[i] = in.URL
	}
	return out
}

// Initrd is one initrd: URL and the file name the kernel command line
// refers to (initrd=NAME, which iPXE's EFI build needs).
type Initrd struct{ Name, URL string }

// FileURL returns the URL of this machine's per-machine file name, as
// served at /files/<mac>/<name> (or /t/<token>/files/<mac>/<name> when
// the request carries a file token). It is meant for kernel arguments such as
// "inst.ks={{ .FileURL "kickstart.ks" }}".
func (d *Data) FileURL(name string) string {
	d.fileRefs = append(d.fileRefs, name)
	base := d.Server.FilesURL
	if base == "" {
		base = d.Server.URL
	}
	return base + route.FilePath(d.Request.FileToken, d.Request.MAC, name)
}

// LoaderFileURL is FileURL for a file the boot loader fetches itself,
// such as the startnet.cmd wimboot injects into WinPE: on the loader's
// base URL (plain http:// for an iPXE that cannot check the server's
// certificate), where FileURL gives the installers' base.
func (d *Data) LoaderFileURL(name string) string {
	d.fileRefs = append(d.fileRefs, name)
	return d.Server.URL + route.FilePath(d.Request.FileToken, d.Request.MAC, name)
}

// Var returns variable name, or def when it is unset. Templates use it for
// optional variables: {{ .Var "timezone" "UTC" }}. (.Vars.name fails when
// name is unset, which catches typos in required variables.)
func (d *Data) Var(name string, def any) any {
	if v, ok := d.Vars[name]; ok && v != nil {
		return v
	}
	return def
}

// List returns variable name as a list for a template to range over:
// {{ range .List "packages" }}. An unset or null variable is an empty
// list; any value other than a list fails the render, naming the
// variable. (A range over .Var would take a number N as 0 to N-1, so
// "packages: 1000000000000" rendered for hours and filled memory, and
// "packages: 3" asked for packages 0, 1 and 2.)
func (d *Data) List(name string) ([]any, error) {
	v := d.Vars[name]
	if v == nil {
		return nil, nil
	}
	rv := reflect.ValueOf(v)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return nil, fmt.Errorf("variable %q must be a list such as [a, b], not %T", name, v)
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, nil
}

// Secret returns the secret name for this machine from the secrets
// directory kept outside the config tree: {{ .Secret "root_password_hash" }}.
// A missing secret fails the render, naming it.
func (d *Data) Secret(name string) (string, error) {
	if d.Server.Secret == nil {
		return "", fmt.Errorf("secret %q: no secrets directory (serve --secrets-dir)", name)
	}
	return d.Server.Secret(d.Machine.Name, name)
}

// AllowsFile reports whether this machine may fetch per-machine file name:
// its menu (or a submenu), group or machine lists it or a folder holding it.
func (d *Data) AllowsFile(name string) bool {
	return slices.ContainsFunc(d.files, func(f string) bool {
		return f == name || strings.HasSuffix(f, "/") && strings.HasPrefix(name, f)
	})
}

// FileRefs returns the names templates passed to FileURL so far, so that
// a check can make sure each is one the machine may fetch.
func (d *Data) FileRefs() []string { return slices.Clone(d.fileRefs) }

// Files returns the per-machine files this machine may fetch.
func (d *Data) Files() []string { return slices.Clone(d.files) }
