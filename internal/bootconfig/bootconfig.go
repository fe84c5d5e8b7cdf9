// Package bootconfig loads a config tree (menus/ and templates/) as one
// unit: the embedded defaults with the user's config directory layered on
// top through os.Root (internal/layerfs), so nothing is read from outside
// that directory and nothing but regular files is read. A Bundle is
// immutable once loaded; a reload builds a new one.
package bootconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/bootwright/bootwright/internal/layerfs"
	"github.com/bootwright/bootwright/menus"
	"github.com/bootwright/bootwright/templates"
)

// Template names the server needs.
const (
	BootScript    = "ipxe/boot.ipxe"           // the script iPXE fetches first
	IPXEMenu      = "ipxe/menu.ipxe"           // one machine's iPXE menu
	IPXEFailed    = "ipxe/failed.ipxe"         // why an entry of the menu did not boot
	GRUBMenu      = "grub/grub.cfg"            // one machine's GRUB menu
	PXELinuxMenu  = "pxelinux/menu.cfg"        // one machine's pxelinux menu
	ChainPXELinux = "ipxe/chain-pxelinux.ipxe" // iPXE chains pxelinux.0 for a pxelinux machine
	ChainGRUB     = "ipxe/chain-grub.ipxe"     // iPXE chains GRUB for a grub or Secure Boot machine
	GRUBDispatch  = "grub/dispatch.cfg"        // grub/grub.cfg for a client whose MAC is not known
	PiConfig      = "raspberrypi/config.txt"   // a Raspberry Pi's config.txt
	PiCmdline     = "raspberrypi/cmdline.txt"  // a Raspberry Pi's cmdline.txt
)

// required are the templates a config tree must have.
var required = []string{BootScript, IPXEMenu, IPXEFailed, GRUBMenu, PXELinuxMenu, ChainPXELinux, ChainGRUB, GRUBDispatch, PiConfig, PiCmdline}

// Chain is what the chain templates (ChainPXELinux, ChainGRUB) and
// GRUBDispatch see.
type Chain struct {
	Server  menus.Server
	TFTP    string // this server's TFTP root as a URL: tftp://10.0.0.1/
	Address string // this server's address, as GRUB's next-server
	// Files are the loader's builds by iPXE ${buildarch} (i386 for
	// PXELINUX; x86_64 and arm64 for GRUB).
	Files    map[string]ChainFile
	Fallback string // the iPXE boot script, where to go when the loader cannot run
}

// ChainFile is one build of a loader a chain script chains.
type ChainFile struct {
	Name    string // its TFTP name (pxelinux.0, grubx64.efi, grubaa64.efi)
	Package string // the Debian package that ships it, for the error message
}

// RenderChain renders a chain template (ChainPXELinux, ChainGRUB,
// GRUBDispatch) with c.
func (b *Bundle) RenderChain(tmpl string, c Chain) ([]byte, error) {
	return b.Templates.Render(tmpl, &c)
}

// Bundle is a loaded, checked config tree.
type Bundle struct {
	Dir       string // where it came from: a directory, a git commit, or "" for the defaults
	Commit    string // the git commit it was loaded from, if any
	Menus     *menus.Config
	Templates *templates.Set
}

// Defaults returns the embedded defaults as a config tree.
func Defaults() (fs.FS, error) {
	return layerfs.Mount(map[string]fs.FS{
		menus.Dir:     menus.Defaults(),
		templates.Dir: templates.Defaults(),
	})
}

// Load loads the config tree in dir over the embedded defaults (dir may be
// empty). Files are read through a layerfs.Dir, so no path or symlink
// leads outside dir, and a FIFO or other non-regular file where a menu or
// template is read fails the load (wrapping layerfs.ErrRefused) instead of
// blocking it. Everything is read into memory; dir is not used afterwards.
// Errors name the file and line.
func Load(dir string) (*Bundle, error) {
	if dir == "" {
		return LoadOver(nil, "")
	}
	d, err := layerfs.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("config dir: %w", err)
	}
	defer d.Close()
	return LoadOver(d, dir)
}

// LoadOver loads the config tree in upper (nil for none) layered over the
// embedded defaults; source says where upper came from.
func LoadOver(upper fs.FS, source string) (*Bundle, error) {
	def, err := Defaults()
	if err != nil {
		return nil, fmt.Errorf("embedded defaults: %w", err)
	}
	fsys := fs.FS(def)
	if upper != nil {
		fsys = layerfs.Stack{upper, def}
	}
	return LoadFS(source, fsys)
}

// LoadFS loads a config tree from fsys; dir is only recorded.
func LoadFS(dir string, fsys fs.FS) (*Bundle, error) {
	m, err := menus.Load(fsys)
	if err != nil {
		return nil, err
	}
	t, err := templates.Load(fsys, templates.Dir)
	if err != nil {
		return nil, err
	}
	for _, name := range required {
		if !t.Has(name) {
			return nil, fmt.Errorf("%s/%s%s: required template is missing", templates.Dir, name, templates.Ext)
		}
	}
	return &Bundle{Dir: dir, Menus: m, Templates: t}, nil
}

// RenderMenu resolves the machine in req and renders its menu with the
// template tmpl (IPXEMenu, GRUBMenu or PXELinuxMenu).
func (b *Bundle) RenderMenu(tmpl string, req menus.Request, srv menus.Server, assets []menus.AssetDir) ([]byte, *menus.Data, error) {
	d, err := b.Menus.Resolve(req, srv, assets)
	if err != nil {
		return nil, nil, err
	}
	out, err := b.Templates.Render(tmpl, d)
	return out, d, err
}

// FilesDir is the folder under templates/ holding per-machine files.
const FilesDir = "files"

// Errors from RenderFile that mean "not found" rather than "broken".
var (
	ErrFileNotAllowed = errors.New("file not listed for this machine")
	ErrNoSuchFile     = errors.New("no template for this file")
)

// RenderFile renders the per-machine file name (templates/files/<name>.tmpl)
// for the machine in req. It fails with ErrFileNotAllowed when the
// machine's menu, group or machine entry does not list the file, and with
// ErrNoSuchFile when there is no such template.
func (b *Bundle) RenderFile(name string, req menus.Request, srv menus.Server, assets []menus.AssetDir) ([]byte, *menus.Data, error) {
	d, err := b.Menus.Resolve(req, srv, assets)
	if err != nil {
		return nil, nil, err
	}
	if !d.AllowsFile(name) {
		return nil, d, fmt.Errorf("%s for machine %s (menu %s lists %v): %w", name, d.Machine.Name, d.Menu.Name, d.Files(), ErrFileNotAllowed)
	}
	tmpl := FilesDir + "/" + name
	if !b.Templates.Has(tmpl) {
		return nil, d, fmt.Errorf("%s: no %s/%s%s: %w", name, templates.Dir, tmpl, templates.Ext, ErrNoSuchFile)
	}
	out, err := b.Templates.Render(tmpl, d)
	return out, d, err
}

// Failed is what IPXEFailed sees: the entry that did not boot and why.
type Failed struct {
	Server   menus.Server
	MAC      string // 52:54:00:12:34:56
	Entry    string // the entry's label, "" when the menu has none so named
	Title    string
	Reasons  []string // one line each
	Timeline string   // URL of the machine's page, "" without a state store
}

// RenderFailed renders the script that explains a failed boot. Entry,
// Title and Reasons are made safe for iPXE's echo first: one line, no
// control characters, no ${ for it to expand.
func (b *Bundle) RenderFailed(f Failed) ([]byte, error) {
	f.Entry, f.Title = echoSafe(f.Entry), echoSafe(f.Title)
	f.Reasons = slices.Clone(f.Reasons)
	for i, r := range f.Reasons {
		f.Reasons[i] = echoSafe(r)
	}
	return b.Templates.Render(IPXEFailed, &f)
}

func echoSafe(s string) string {
	s = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return ' '
		}
		return c
	}, s)
	return strings.ReplaceAll(s, "${", "$ {")
}

// RenderBootScript renders the first script iPXE fetches.
func (b *Bundle) RenderBootScript(srv menus.Server) ([]byte, error) {
	return b.Templates.Render(BootScript, &menus.Data{Server: srv})
}
