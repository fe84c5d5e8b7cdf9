package menus

import (
	"fmt"
	"path"
	"strings"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/templates"
)

// File access settings.
const (
	FileAccessMachine       = "machine"
	FileAccessTokenAnywhere = "token-anywhere"
	FileAccessOpen          = "open"
)

// validateEntry checks one entry and parses its templates.
func validateEntry(e *Entry) error {
	if e.Type == "" {
		e.Type = TypeKernel
	}
	if !validTypes[e.Type] {
		return fmt.Errorf("%s: entry %q: unknown type %q (want kernel, wimboot, chain, menu, local, shell, exit or assets)", e.posOf("type"), e.Name, e.Type)
	}
	if e.Type == TypeAssets {
		return nil
	}
	if !namePattern.MatchString(e.Name) || strings.HasPrefix(e.Name, reservedPrefix) {
		return fmt.Errorf("%s: entry name %q must be letters, digits, '.', '_' or '-' and not start with %q", e.posOf("name"), e.Name, reservedPrefix)
	}
	if e.Title == "" {
		e.Title = e.Name
	}
	if strings.ContainsAny(e.Title, "\r\n") {
		return fmt.Errorf("%s: entry %q: title must be one line", e.posOf("title"), e.Name)
	}
	switch {
	case bootsKernel(e.Type) && e.Kernel == "" && len(e.PerArch) == 0:
		return fmt.Errorf("%s: entry %q: type %s needs a kernel: key (or per_arch: kernels)", e.pos, e.Name, e.Type)
	case e.Type == TypeChain && e.URL == "":
		return fmt.Errorf("%s: entry %q: type chain needs a url: key", e.pos, e.Name)
	case e.Type == TypeMenu && e.Menu == "":
		return fmt.Errorf("%s: entry %q: type menu needs menu: (the name of another menus/<name>.yaml)", e.pos, e.Name)
	}
	for name, sum := range e.SHA256 {
		if len(sum) != 64 || strings.Trim(strings.ToLower(sum), "0123456789abcdef") != "" {
			return fmt.Errorf("%s: entry %q: sha256 of %q must be 64 hex digits", e.posOf("sha256."+name), e.Name, name)
		}
	}
	var err error
	// Named "file:line field" after the line of the field's key.
	parse := func(key, field, src string) templates.Text {
		t, perr := templates.ParseText(e.posOf(key)+" "+field, src)
		if perr != nil && err == nil {
			err = perr
		}
		return t
	}
	e.tpl.title = parse("title", "title", e.Title)
	e.tpl.help = parse("help", "help", e.Help)
	e.tpl.kernel = parse("kernel", "kernel", e.Kernel)
	e.tpl.args = parse("args", "args", e.Args)
	e.tpl.url = parse("url", "url", e.URL)
	e.tpl.sums = parse("sums", "sums", e.Sums)
	for i, src := range e.Initrds {
		e.tpl.initrds = append(e.tpl.initrds, parse(initrdKey(i), "initrd", src))
	}
	if aerr := validateArches(e, parse); aerr != nil {
		return aerr
	}
	return err
}

// validateSettings checks what a group or machine sets; who is "machine
// NAME" or "group NAME" for errors.
func (c *Config) validateSettings(pos, who string, s *Settings) error {
	if s.Menu != "" {
		if _, ok := c.Menus[s.Menu]; !ok {
			return fmt.Errorf("%s: %s: no menu %q (no file %s/%s.yaml)", pos, who, s.Menu, Dir, s.Menu)
		}
	}
	switch s.Loader {
	case "", LoaderIPXE, LoaderPXELinux, LoaderGRUB, LoaderRaspberryPi:
	default:
		return fmt.Errorf("%s: %s: unknown loader %q (want ipxe, pxelinux, grub or raspberrypi)", pos, who, s.Loader)
	}
	if s.SecureBoot != nil && *s.SecureBoot {
		switch s.Loader {
		case LoaderPXELinux:
			return fmt.Errorf("%s: %s: secure_boot boots UEFI through shim and GRUB, but loader pxelinux is legacy BIOS only (use loader grub or leave loader out)", pos, who)
		case LoaderRaspberryPi:
			return fmt.Errorf("%s: %s: secure_boot boots UEFI through shim and GRUB, but loader raspberrypi boots the Pi's own firmware, which has no Secure Boot (leave one of them out)", pos, who)
		}
	}
	if strings.ContainsAny(s.Args, "\r\n") {
		return fmt.Errorf("%s: %s: args must be one line", pos, who)
	}
	switch s.FileAccess {
	case "", FileAccessMachine, FileAccessTokenAnywhere, FileAccessOpen:
	default:
		return fmt.Errorf("%s: %s: unknown file_access %q (want machine, token-anywhere or open)", pos, who, s.FileAccess)
	}
	return validFiles(pos, who, s.Files)
}

// validFiles checks per-machine file names: relative, clean, no "..".
func validFiles(pos, who string, files []string) error {
	for _, f := range files {
		p := strings.TrimSuffix(f, "/")
		if p == "" || p != path.Clean(p) || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "..") || strings.Contains(p, "/../") {
			return fmt.Errorf("%s: %s: file name %q must be a clean relative path", pos, who, f)
		}
	}
	return nil
}

// validateSelector checks and normalises a group's selector.
func validateSelector(pos, group string, s *Selector) error {
	for _, m := range s.MACs {
		h, err := hw.HexPrefix(m)
		if err != nil {
			return fmt.Errorf("%s: group %s: mac selector %q must be a MAC or a prefix of one", pos, group, m)
		}
		s.macs = append(s.macs, h)
	}
	for _, name := range s.Arch {
		a, err := hw.ParseFamily(name)
		if err != nil {
			return fmt.Errorf("%s: group %s: %w", pos, group, err)
		}
		s.arches = append(s.arches, a)
	}
	for _, l := range s.Labels {
		if !namePattern.MatchString(l) {
			return fmt.Errorf("%s: group %s: label %q must be letters, digits, '.', '_' or '-'", pos, group, l)
		}
	}
	return nil
}
