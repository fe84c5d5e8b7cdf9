package menus

import (
	"fmt"
	"net/netip"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/templates"
)

// Entry types.
const (
	TypeKernel = "kernel" // boot a kernel with initrds and arguments
	TypeChain  = "chain"  // chain to another boot script or NBP by URL
	TypeMenu   = "menu"   // a submenu: another menus/<name>.yaml
	TypeLocal  = "local"  // boot from the local disk
	TypeShell  = "shell"  // the iPXE shell
	TypeExit   = "exit"   // leave the boot loader, back to the firmware
	TypeAssets = "assets" // placeholder: one kernel entry per assets folder
	// TypeWimboot boots wimboot (the kernel) with files it injects into
	// the WIM by name (the initrds: bcd, boot.sdi, boot.wim, startnet.cmd
	// ...), iPXE only: wimboot refuses the initrd= arguments a kernel
	// entry passes, and GRUB and PXELINUX menus leave the entry out.
	TypeWimboot = "wimboot"
)

// bootsKernel reports whether entries of type t load a kernel and
// initrds (kernel and wimboot).
func bootsKernel(t string) bool { return t == TypeKernel || t == TypeWimboot }

var validTypes = map[string]bool{TypeKernel: true, TypeChain: true, TypeMenu: true, TypeLocal: true,
	TypeShell: true, TypeExit: true, TypeAssets: true, TypeWimboot: true}

// Loaders a machine or group may use.
const (
	LoaderIPXE     = "ipxe"
	LoaderPXELinux = "pxelinux"
	LoaderGRUB     = "grub"
	// LoaderRaspberryPi is a Raspberry Pi 4 or 5's own network boot: its
	// EEPROM bootloader reads firmware, config.txt, cmdline.txt, the
	// kernel and its initrds over TFTP (see raspberrypi.go).
	LoaderRaspberryPi = "raspberrypi"
)

// namePattern is what a menu, entry, group or machine name may look like:
// safe as a boot loader label, a file name and a URL path segment.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// reservedPrefix starts the labels the menu templates use themselves.
const reservedPrefix = "bw-"

// Menu is one menus/<name>.yaml file.
type Menu struct {
	Name  string `yaml:"-"`
	File  string `yaml:"-"`
	Title string `yaml:"title"`
	// Timeout is how long the menu waits before it boots its default
	// entry: 0s boots it at once, never (or no timeout) waits for a
	// choice.
	Timeout *Duration `yaml:"timeout"`
	Default string    `yaml:"default"`
	Entries []Entry   `yaml:"entries"`
	// Files are the per-machine files (templates/files/<name>.tmpl) a
	// machine on this menu may fetch at /files/<mac>/<name>; a name ending
	// in "/" allows every file under that folder.
	Files []string `yaml:"files"`
	// Cache is the default of its entries' cache: key, so that a whole
	// catalog goes through the download cache (see catalog.go).
	Cache bool `yaml:"cache"`
	// Vars are defaults of variables, beneath machines.yaml's vars, so
	// that a catalog's releases are a one-line change (see catalog.go).
	Vars map[string]any `yaml:"vars"`
	// Mirrors are the upstream base URLs that {{ .Mirror "name" }} gives,
	// unless variable <name>_mirror or catalog_mirror says otherwise.
	Mirrors map[string]string `yaml:"mirrors"`
}

// Entry is one item of a menu. Title, Help, Kernel, Initrds, Args and URL are
// templates over the menu's Data; a kernel or initrd without a scheme is a
// path under the assets URL.
type Entry struct {
	Name  string `yaml:"name"`
	Title string `yaml:"title"`
	// Help is one line shown under the entry in the iPXE menu.
	Help    string   `yaml:"help"`
	Type    string   `yaml:"type"`
	Kernel  string   `yaml:"kernel"`
	Initrds []string `yaml:"initrds"`
	Args    string   `yaml:"args"`
	URL     string   `yaml:"url"`
	Menu    string   `yaml:"menu"` // type menu: the submenu's name
	// Cache serves the kernel and initrds from this server's download
	// cache: fetched once from their upstream URLs, then from disk.
	Cache bool `yaml:"cache"`
	// SHA256 maps a kernel or initrd file name (the last element of its
	// URL) to its expected sha256; a file that does not match is never
	// served. Listing sums implies cache.
	SHA256 map[string]string `yaml:"sha256"`
	// Sums is the URL of the checksum list the distribution publishes
	// beside the kernel and initrds (SHA256SUMS, SHA256, .treeinfo): the
	// cache checks each file against it when it fetches the file. A
	// template; per_arch may give its own.
	Sums string `yaml:"sums"`
	// Needs lists variables that must be set (non-empty) for the entry to
	// appear, so installer entries stay hidden until a mirror is chosen.
	Needs []string `yaml:"needs"`
	// Arch limits the entry to these arch families (hw.Families); empty
	// means every arch.
	Arch []string `yaml:"arch"`
	// PerArch gives the kernel and initrds for some arch families, ahead
	// of Kernel and Initrds. An entry with neither for the client's arch
	// is left out of its menu.
	PerArch map[string]ArchBoot `yaml:"per_arch"`

	pos     string            // "file:line" of the entry, for errors
	keyPos  map[string]string // "file:line" of its keys (see keyPositions)
	tpl     entryTemplates
	menu    *Menu // the menu it is in
	arches  []hw.Arch
	perArch map[hw.Arch]ArchBoot
}

// posOf returns "file:line" of key in the entry ("title", "initrds[1]",
// "sha256.linux"), or the entry's own when the key is not written.
func (e *Entry) posOf(key string) string {
	if p, ok := e.keyPos[key]; ok {
		return p
	}
	return e.pos
}

// initrdKey is the posOf key of initrd i.
func initrdKey(i int) string { return fmt.Sprintf("initrds[%d]", i) }

type entryTemplates struct {
	title, help, kernel, args, url, sums templates.Text
	initrds                              []templates.Text
}

// Settings are what a group or a machine may set. A machine's settings
// override its group's, which override the defaults; Args are joined
// (group first) and Vars merged key by key.
type Settings struct {
	Menu    string `yaml:"menu"`    // menu name
	Default string `yaml:"default"` // entry booted when the menu times out
	// Install names an entry that installs the machine: it is the default
	// until the installer calls back, and from then on the menu defaults
	// to its first local-disk entry (install once).
	Install string    `yaml:"install"`
	Timeout *Duration `yaml:"timeout"` // overrides the menu's timeout
	Args    string    `yaml:"args"`    // appended to every kernel entry (not wimboot)
	Loader  string    `yaml:"loader"`  // ipxe, pxelinux, grub or raspberrypi
	// SecureBoot says the machine's x86-64 UEFI firmware enforces Secure
	// Boot: its firmware PXE is offered Debian's signed shim, which loads
	// the signed GRUB network image, and its GRUB menu loads this server's
	// assets over TFTP (GRUB loads no http module under Secure Boot). Nil
	// means unset; a machine's false overrides its group's true.
	SecureBoot *bool    `yaml:"secure_boot"`
	Files      []string `yaml:"files"` // extra per-machine files allowed
	// FileAccess says who may fetch this machine's files: "machine" (the
	// default: only the machine itself, from the address bootwright's
	// DHCP bound to it, or anywhere with the token its menu carries when
	// it was asked for from that address), "token-anywhere" (its menu
	// carries a token whoever asks for it, for installers behind NAT or
	// relays bootwright cannot see: weaker, since anyone who knows the
	// MAC gets its files) or "open" (anyone who knows the URL).
	FileAccess string         `yaml:"file_access"`
	Vars       map[string]any `yaml:"vars"`
}

// Machine is one machine in menus/machines.yaml.
type Machine struct {
	MAC        MAC      `yaml:"mac"`
	Name       string   `yaml:"name"`
	Hostname   string   `yaml:"hostname"`
	Labels     []string `yaml:"labels"`
	IP         Addr     `yaml:"ip"`          // DHCP reservation in full mode
	IPXEScript string   `yaml:"ipxe_script"` // URL iPXE is sent to instead of /boot.ipxe
	Settings   `yaml:",inline"`

	pos string
}

// Group is a set of machines chosen by selectors, with shared settings.
type Group struct {
	Name     string   `yaml:"name"`
	Match    Selector `yaml:"match"`
	Settings `yaml:",inline"`

	pos string
}

// Selector picks the requests a group applies to. Every field set must
// match; an empty selector matches everything.
type Selector struct {
	// MACs are full MACs or prefixes ("52:54:00", "52:54:00:12:34:56").
	MACs []string `yaml:"macs"`
	// Arch is a list of client arch families (hw.Families: bios,
	// efi-ia32, efi-x64, efi-arm32, efi-arm64).
	Arch []string `yaml:"arch"`
	// Labels must all be on the machine.
	Labels []string `yaml:"labels"`
	// Subnet holds the client's address.
	Subnet *Prefix `yaml:"subnet"`

	macs   []string  // normalised lower-case hex prefixes without separators
	arches []hw.Arch // Arch, parsed
}

// machinesFile is menus/machines.yaml.
type machinesFile struct {
	Vars     map[string]any `yaml:"vars"`
	Groups   []Group        `yaml:"groups"`
	Machines []Machine      `yaml:"machines"`
}

// Duration is a time.Duration written as "10s" or "1m30s" in YAML.
type Duration struct {
	time.Duration
	// Never is "timeout: never": the menu waits for a choice.
	Never bool
}

// UnmarshalYAML parses a Go duration string (0s: boot the default at
// once) or "never" (wait for a choice).
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Value == "never" {
		*d = Duration{Never: true}
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: invalid duration %q (want e.g. 10s or 1m, 0s to boot the default at once, or never to wait)", n.Line, n.Value)
	}
	*d = Duration{Duration: v}
	return nil
}

// MAC is a machine's Ethernet address in YAML, accepted in any form
// hw.ParseMAC takes (52:54:00:12:34:56, 52-54-00-12-34-56, 5254.0012.3456).
type MAC struct{ hw.MAC }

// UnmarshalYAML parses and normalises a MAC address.
func (m *MAC) UnmarshalYAML(n *yaml.Node) error {
	v, err := hw.ParseMAC(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	m.MAC = v
	return nil
}

// Addr is an IPv4 address in YAML.
type Addr struct{ netip.Addr }

// UnmarshalYAML parses an IPv4 address.
func (a *Addr) UnmarshalYAML(n *yaml.Node) error {
	v, err := netip.ParseAddr(n.Value)
	if err != nil || !v.Is4() {
		return fmt.Errorf("line %d: invalid IPv4 address %q", n.Line, n.Value)
	}
	a.Addr = v
	return nil
}

// Prefix is an IP prefix such as 10.0.0.0/24 in YAML.
type Prefix struct{ netip.Prefix }

// UnmarshalYAML parses a prefix.
func (p *Prefix) UnmarshalYAML(n *yaml.Node) error {
	v, err := netip.ParsePrefix(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid subnet %q (want e.g. 10.0.0.0/24)", n.Line, n.Value)
	}
	p.Prefix = v.Masked()
	return nil
}
