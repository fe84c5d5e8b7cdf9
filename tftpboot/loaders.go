package tftpboot

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/layerfs"
)

// TFTP names of the boot loaders bootwright offers, served from the
// host's packages (see Loaders), never embedded.
const (
	// LPXELinux is syslinux's PXELINUX with its own TCP/IP stack, which
	// fetches http:// kernels and initrds itself (legacy BIOS only).
	LPXELinux = "lpxelinux.0"
	// PXELinux is PXELINUX without a TCP/IP stack of its own: it reads
	// TFTP through the PXE ROM, and http:// only through the PXE file
	// API of an iPXE it was chained from.
	PXELinux = "pxelinux.0"
)

// LoaderFile says where a loader file comes from on a Debian host.
type LoaderFile struct {
	Name    string // TFTP name, at the root of the tree
	Path    string // where Debian's package installs it
	Package string // the Debian package
}

// syslinuxModules is where Debian's syslinux-common puts the BIOS
// COM32 modules (ldlinux.c32, menu.c32, libutil.c32, ...) that
// PXELINUX loads from the TFTP directory it was loaded from.
const syslinuxModules = "/usr/lib/syslinux/modules/bios"

// grubModules are where Debian's grub-efi-<arch>-bin puts GRUB's UEFI
// modules and their lists, by the folder GRUB looks for them in. Debian's
// signed network images have no http module built in and load it from
// $prefix/<platform>/, that is grub/x86_64-efi/ (grub/arm64-efi/) on the
// TFTP server (when Secure Boot is off: with it on, GRUB loads no module
// and can fetch kernels over TFTP only).
var grubModules = map[string]LoaderFile{
	"grub/x86_64-efi/": {Path: "/usr/lib/grub/x86_64-efi", Package: "grub-efi-amd64-bin"},
	"grub/arm64-efi/":  {Path: "/usr/lib/grub/arm64-efi", Package: "grub-efi-arm64-bin"},
}

// debianLoaders are the loader files with a fixed name.
var debianLoaders = map[string]LoaderFile{
	LPXELinux: {LPXELinux, "/usr/lib/PXELINUX/lpxelinux.0", "pxelinux"},
	PXELinux:  {PXELinux, "/usr/lib/PXELINUX/pxelinux.0", "pxelinux"},
	// Debian's signed GRUB network image for x86-64 UEFI, under the name
	// Debian's shim asks for. It reads grub/grub.cfg from the TFTP
	// server it was loaded from.
	hw.ArchEFIx64.GRUB(): {hw.ArchEFIx64.GRUB(), "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed", "grub-efi-amd64-signed"},
	"grubnetx64.efi":     {"grubnetx64.efi", "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed", "grub-efi-amd64-signed"},
	// Debian's signed shim, for Secure Boot; it loads the GRUB above.
	hw.ArchEFIx64.Shim(): {hw.ArchEFIx64.Shim(), "/usr/lib/shim/shimx64.efi.signed", "shim-signed"},
	// The same for 64-bit ARM UEFI (Debian's arm64 packages, installed
	// with multiarch or copied into --tftp-loader-dir).
	hw.ArchEFIARM64.GRUB(): {hw.ArchEFIARM64.GRUB(), "/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed", "grub-efi-arm64-signed"},
	hw.ArchEFIARM64.Shim(): {hw.ArchEFIARM64.Shim(), "/usr/lib/shim/shimaa64.efi.signed", "shim-signed:arm64"},
	// memtest86+ for the catalog's Tools menu, which iPXE loads over
	// HTTP from /tftp/: the BIOS build speaks the Linux boot protocol,
	// the UEFI builds are EFI applications.
	MemtestBIOS:    {MemtestBIOS, "/boot/" + MemtestBIOS, "memtest86+"},
	MemtestEFIx64:  {MemtestEFIx64, "/boot/" + MemtestEFIx64, "memtest86+"},
	MemtestEFIia32: {MemtestEFIia32, "/boot/" + MemtestEFIia32, "memtest86+"},
}

// memtest86+ files as Debian 12's memtest86+ package installs them.
const (
	MemtestBIOS    = "memtest86+x64.bin"
	MemtestEFIx64  = "memtest86+x64.efi"
	MemtestEFIia32 = "memtest86+ia32.efi"
)

// Loaders serves the boot loader files from the host as an fs.FS: the
// names above and every syslinux BIOS module ("*.c32") at the root of
// the tree, GRUB's modules and lists under grub/x86_64-efi/ and
// grub/arm64-efi/, memtest86+, and the Raspberry Pi firmware, overlays
// and device trees (see raspberrypi.go). With Dir empty they come from
// Debian's package paths (pxelinux, syslinux-common,
// grub-efi-{amd64,arm64}-signed, grub-efi-{amd64,arm64}-bin, shim-signed,
// memtest86+, raspi-firmware, linux-image-arm64); with Dir set, each is Dir/<TFTP name>. Files are
// opened through an os.Root on their directory, so a symlink cannot lead out of it, and only regular
// files are served. A loader file that is not there yields a
// *MissingLoaderError, which wraps fs.ErrNotExist and names the package.
// The zero Loaders serves Debian's files.
type Loaders struct {
	Dir string
}

// Lookup returns the Debian file and package behind name; ok is false
// for a name that is no loader file.
func (l Loaders) Lookup(name string) (LoaderFile, bool) {
	if lf, ok := debianLoaders[name]; ok {
		return lf, true
	}
	for dir, m := range grubModules {
		if mod, ok := strings.CutPrefix(name, dir); ok && plainName(mod, ".mod", ".lst") {
			return LoaderFile{Name: name, Path: m.Path + "/" + mod, Package: m.Package}, true
		}
	}
	if plainName(name, ".c32") {
		return LoaderFile{Name: name, Path: syslinuxModules + "/" + name, Package: "syslinux-common"}, true
	}
	return piLookup(name)
}

// plainName reports whether name is one path element ending in one of
// exts, with something before it.
func plainName(name string, exts ...string) bool {
	if strings.ContainsAny(name, `/\`) {
		return false
	}
	for _, e := range exts {
		if len(name) > len(e) && strings.HasSuffix(name, e) {
			return true
		}
	}
	return false
}

// where returns the directory and file name lf is read from.
func (l Loaders) where(lf LoaderFile) (string, string) {
	if l.Dir != "" {
		return l.Dir, lf.Name
	}
	return filepath.Split(lf.Path)
}

// Open implements fs.FS.
func (l Loaders) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	lf, ok := l.Lookup(name)
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	dir, base := l.where(lf)
	d, err := layerfs.OpenDir(dir)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: &MissingLoaderError{File: lf, Dir: l.Dir, Err: err}}
	}
	defer d.Close() // the open file stays valid
	f, err := d.Open(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: &MissingLoaderError{File: lf, Dir: l.Dir, Err: err}}
	}
	return f, err
}

// Missing returns a *MissingLoaderError for each of names that cannot be
// opened, for a start-up warning.
func (l Loaders) Missing(names ...string) []error {
	var errs []error
	for _, n := range names {
		f, err := l.Open(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.Close()
	}
	return errs
}

// MissingLoaderError is a loader file that is not installed.
type MissingLoaderError struct {
	File LoaderFile
	Dir  string // Loaders.Dir, "" for Debian's paths
	Err  error  // the underlying error
}

// Error names the file, where it was looked for, and what to install.
func (e *MissingLoaderError) Error() string {
	if e.Dir != "" {
		return fmt.Sprintf("%s not in %s (copy it from Debian package %s, %s)", e.File.Name, e.Dir, e.File.Package, e.File.Path)
	}
	return fmt.Sprintf("%s: %s not found; install Debian package %s", e.File.Name, e.File.Path, e.File.Package)
}

// Wire is the message for the client's TFTP error packet.
func (e *MissingLoaderError) Wire() string {
	return fmt.Sprintf("file not found: %s needs Debian package %s on the server", e.File.Name, e.File.Package)
}

// Unwrap makes errors.Is(err, fs.ErrNotExist) true.
func (e *MissingLoaderError) Unwrap() []error { return []error{fs.ErrNotExist, e.Err} }
