package menus

import (
	"fmt"
	"io/fs"
	"net/url"
	"slices"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/templates"
)

// One menu serves machines of several architectures. An entry can be
// limited to some (arch: [efi-arm64]) and can give its kernel and
// initrds per arch (per_arch:); an entry with nothing for the client's
// arch is left out of its menu, not rendered broken.

// ArchBoot is an entry's kernel and initrds for one arch family.
type ArchBoot struct {
	Kernel  string   `yaml:"kernel"`
	Initrds []string `yaml:"initrds"`
	Sums    string   `yaml:"sums"` // the checksum list for this arch's files

	kernel  templates.Text
	initrds []templates.Text
	sums    templates.Text
}

// validateArches parses an entry's arch and per_arch keys.
func validateArches(e *Entry, parse func(key, field, src string) templates.Text) error {
	for _, name := range e.Arch {
		a, err := hw.ParseFamily(name)
		if err != nil {
			return fmt.Errorf("%s: entry %q: %w", e.posOf("arch"), e.Name, err)
		}
		e.arches = append(e.arches, a)
	}
	for name, ab := range e.PerArch {
		a, err := hw.ParseFamily(name)
		if err != nil {
			return fmt.Errorf("%s: entry %q: per_arch: %w", e.posOf("per_arch."+name), e.Name, err)
		}
		if ab.Kernel == "" {
			return fmt.Errorf("%s: entry %q: per_arch %s needs a kernel: key", e.posOf("per_arch."+name), e.Name, name)
		}
		key := "per_arch." + name
		ab.kernel = parse(key, "per_arch "+name+" kernel", ab.Kernel)
		for _, src := range ab.Initrds {
			ab.initrds = append(ab.initrds, parse(key, "per_arch "+name+" initrd", src))
		}
		ab.sums = parse(key, "per_arch "+name+" sums", ab.Sums)
		if e.perArch == nil {
			e.perArch = map[hw.Arch]ArchBoot{}
		}
		e.perArch[a] = ab
	}
	return e.bootsSomewhere()
}

// bootsSomewhere refuses a kernel entry that boots no arch at all: its
// arch: list and its kernels (kernel:, per_arch:) do not meet.
func (e *Entry) bootsSomewhere() error {
	if !bootsKernel(e.Type) {
		return nil
	}
	for _, a := range hw.Families() {
		if _, ok := e.bootFor(a); ok {
			return nil
		}
	}
	var have []string
	for a := range e.perArch {
		have = append(have, a.String())
	}
	slices.Sort(have)
	return fmt.Errorf("%s: entry %q has no kernel for any arch: arch: %v, per_arch: %v and no kernel: of its own", e.pos, e.Name, e.Arch, have)
}

// bootFor returns the kernel, initrd and checksum list templates of entry
// e for arch a (a family, or hw.ArchUnknown), and false when e has none
// for it: it is limited to other arches, or it only has per_arch files,
// none for a.
func (e *Entry) bootFor(a hw.Arch) (ArchBoot, bool) {
	if len(e.arches) > 0 && !slices.Contains(e.arches, a) {
		return ArchBoot{}, false
	}
	if ab, ok := e.perArch[a]; ok {
		if ab.Sums == "" {
			ab.sums = e.tpl.sums
		}
		return ab, true
	}
	if e.Kernel == "" {
		return ArchBoot{}, false
	}
	return ArchBoot{kernel: e.tpl.kernel, initrds: e.tpl.initrds, sums: e.tpl.sums}, true
}

// archDirs are the subfolders of an assets folder that hold a kernel for
// one CPU (iPXE's ${buildarch} names), beside the folder's own files.
var archDirs = []string{"arm64", "arm32", "x86_64", "i386"}

// AssetFiles are the kernel and initrds of an assets folder for one CPU.
type AssetFiles struct {
	Kernel  string   // file name inside the folder (arm64/vmlinuz for a CPU subfolder)
	Initrds []string // likewise
}

// scanArchDirs finds the CPU subfolders of an assets folder that hold a
// kernel.
func scanArchDirs(fsys fs.FS, dir string) map[string]AssetFiles {
	var out map[string]AssetFiles
	for _, cpu := range archDirs {
		k, initrds, ok := kernelIn(fsys, dir+"/"+cpu)
		if !ok {
			continue
		}
		if out == nil {
			out = map[string]AssetFiles{}
		}
		f := AssetFiles{Kernel: cpu + "/" + k}
		for _, i := range initrds {
			f.Initrds = append(f.Initrds, cpu+"/"+i)
		}
		out[cpu] = f
	}
	return out
}

// filesFor returns the folder's kernel and initrds for arch a: its CPU's
// subfolder when it has one, else, for an x86 CPU (or an arch not known),
// the folder's own files, which are x86 kernels as they always were here;
// false when there is none, so an ARM machine is never offered an x86
// kernel.
func (a AssetDir) filesFor(arch hw.Arch) (AssetFiles, bool) {
	cpu, _ := arch.IPXE()
	if arch == hw.ArchBIOS {
		cpu = "x86_64" // a BIOS machine runs an x86 kernel, 64-bit as a rule
	}
	if f, ok := a.Arches[cpu]; ok {
		return f, true
	}
	x86 := cpu == "" || cpu == "x86_64" || cpu == "i386"
	if a.Kernel == "" || !x86 {
		return AssetFiles{}, false
	}
	return AssetFiles{Kernel: a.Kernel, Initrds: a.Initrds}, true
}

// escapePath escapes each element of a slash-separated relative path.
func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}
