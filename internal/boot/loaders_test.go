package boot

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/tftpboot"
)

func TestWarnLoaders(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	testPolicy(t, "10.231.0.1", true).Warn(tftpboot.Loaders{Dir: t.TempDir()}, false, log)
	out := buf.String()
	for _, want := range []string{
		`group selects by arch or subnet`, `group=efi`,
		`needs TFTP, which is off`,
		`lpxelinux.0 not in`, `open pxelinux.0: pxelinux.0 not in`, `Debian package pxelinux`,
		`menu.c32 not in`, `Debian package syslinux-common`,
		`grubx64.efi not in`, `Debian package grub-efi-amd64-signed`,
		`grub/x86_64-efi/http.mod not in`, `Debian package grub-efi-amd64-bin`,
		`loader=shim`, `shimx64.efi not in`, `Debian package shim-signed`,
		`Secure Boot in proxy mode`,
		// No arm64 build at all: one line of information per loader.
		`level=INFO msg="loader: no efi-arm64 build installed; efi-arm64 machines using it will not boot" loader=grub`,
		`level=INFO msg="loader: no efi-arm64 build installed; efi-arm64 machines using it will not boot" loader=shim`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("warnings lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "level=WARN msg=\"loader: file missing; machines using it will not boot\" loader=grub used_by=group\\ grubs arch=efi-arm64") {
		t.Errorf("a whole missing arm64 build warned file by file:\n%s", out)
	}

	// Half an arm64 build (GRUB without its http module) warns about
	// the missing file; a complete one says nothing.
	dir := t.TempDir()
	writeFile(t, dir+"/grubaa64.efi", "grub")
	buf.Reset()
	testPolicy(t, "10.231.0.1", false).Warn(tftpboot.Loaders{Dir: dir}, true, log)
	if out := buf.String(); !strings.Contains(out, `arch=efi-arm64 err="open grub/arm64-efi/http.mod: grub/arm64-efi/http.mod not in`) {
		t.Errorf("half an arm64 build:\n%s", out)
	}
	writeFile(t, dir+"/grub/arm64-efi/http.mod", "mod")
	writeFile(t, dir+"/shimaa64.efi", "shim")
	buf.Reset()
	testPolicy(t, "10.231.0.1", false).Warn(tftpboot.Loaders{Dir: dir}, true, log)
	if out := buf.String(); strings.Contains(out, "efi-arm64") {
		t.Errorf("a complete arm64 build:\n%s", out)
	}
}
