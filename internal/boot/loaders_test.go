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
	} {
		if !strings.Contains(out, want) {
			t.Errorf("warnings lack %q:\n%s", want, out)
		}
	}
}
