package tftpboot

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

// fakeRender renders "pxelinux.cfg/default" and "grub/grub.cfg", fails
// "broken.cfg", reports "gone.cfg" missing, and records who asked.
type fakeRender struct {
	mu    sync.Mutex
	peers []netip.Addr
}

func (f *fakeRender) render(name string, peer netip.Addr) ([]byte, bool, error) {
	f.mu.Lock()
	f.peers = append(f.peers, peer)
	f.mu.Unlock()
	switch name {
	case "pxelinux.cfg/default", "grub/grub.cfg":
		return []byte("rendered " + name + " for " + peer.String() + "\n"), true, nil
	case "odd.bin":
		return []byte("rendered wins over the file\n"), true, nil
	case "broken.cfg":
		return nil, true, errors.New("template exploded")
	case "gone.cfg":
		return nil, true, fs.ErrNotExist
	}
	return nil, false, nil
}

func TestRender(t *testing.T) {
	_, files, want := userRoot(t)
	fr := &fakeRender{}
	logs := &syncBuffer{}
	addr := startServer(t, &Server{Files: files, Render: fr.render, Logger: jsonLogger(logs)})
	tests := map[string]struct {
		name, want, err string
	}{
		"pxelinux default":  {name: "pxelinux.cfg/default", want: "rendered pxelinux.cfg/default for 127.0.0.1\n"},
		"leading slash":     {name: "/grub/grub.cfg", want: "rendered grub/grub.cfg for 127.0.0.1\n"},
		"backslashes":       {name: `grub\grub.cfg`, want: "rendered grub/grub.cfg for 127.0.0.1\n"},
		"wins over a file":  {name: "odd.bin", want: "rendered wins over the file\n"},
		"falls to files":    {name: "one-block.bin", want: string(want["one-block.bin"])},
		"render error":      {name: "broken.cfg", err: "code: 0, message: cannot render file"},
		"render not found":  {name: "gone.cfg", err: "code: 1, message: file not found"},
		"traversal refused": {name: "../pxelinux.cfg/default", err: "code: 2"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, tsize, err := fetch(addr, tc.name, 1468)
			if tc.err != "" {
				if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.err)) {
					t.Errorf("fetch %s: err = %v, want %q", tc.name, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("content (-want +got):\n%s", diff)
			}
			if tsize != int64(len(tc.want)) {
				t.Errorf("tsize %d, want %d", tsize, len(tc.want))
			}
		})
	}
	rec := waitRecord(t, logs, "tftp transfer", "pxelinux.cfg/default")
	if rec["rendered"] != true || rec["outcome"] != OutcomeOK {
		t.Errorf("log record %v, want rendered ok", rec)
	}
	rec = waitRecord(t, logs, "tftp transfer", "broken.cfg")
	if rec["outcome"] != OutcomeFailed || !bytes.Contains([]byte(fmt.Sprint(rec["err"])), []byte("template exploded")) {
		t.Errorf("log record %v, want failed with the render error", rec)
	}
}

func TestLoaders(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, LPXELinux), []byte("lpxelinux"))
	writeFile(t, filepath.Join(dir, "ldlinux.c32"), []byte("ldlinux"))
	writeFile(t, filepath.Join(t.TempDir(), "outside.c32"), []byte("secret"))
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link.c32")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.c32"), 0o755); err != nil {
		t.Fatal(err)
	}
	user := t.TempDir()
	writeFile(t, filepath.Join(user, "ldlinux.c32"), []byte("user ldlinux"))
	files, err := Files(user, Loaders{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, &Server{Files: files})
	tests := map[string]struct{ name, want, err string }{
		"loader from dir":   {name: LPXELinux, want: "lpxelinux"},
		"user root wins":    {name: "ldlinux.c32", want: "user ldlinux"},
		"embedded nbp":      {name: hw.NBPUndionly, want: string(embedded(t, hw.NBPUndionly))},
		"missing module":    {name: "menu.c32", err: "file not found: menu.c32 needs Debian package syslinux-common on the server"},
		"missing grub":      {name: hw.ArchEFIx64.GRUB(), err: "file not found: grubx64.efi needs Debian package grub-efi-amd64-signed on the server"},
		"symlink out":       {name: "link.c32", err: "code: 2"},
		"directory":         {name: "dir.c32", err: "code: 2"},
		"not a loader name": {name: "sub/menu.c32", err: "code: 1, message: file not found"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, _, err := fetch(addr, tc.name, 1468)
			if tc.err != "" {
				if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.err)) {
					t.Errorf("fetch %s: err = %v, want %q", tc.name, err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("fetch %s: %d bytes, %v; want %d bytes", tc.name, len(got), err, len(tc.want))
			}
		})
	}
}

func TestLoadersDebianPaths(t *testing.T) {
	tests := map[string]struct {
		name string
		want LoaderFile
		ok   bool
	}{
		"lpxelinux": {LPXELinux, LoaderFile{LPXELinux, "/usr/lib/PXELINUX/lpxelinux.0", "pxelinux"}, true},
		"module":    {"menu.c32", LoaderFile{"menu.c32", "/usr/lib/syslinux/modules/bios/menu.c32", "syslinux-common"}, true},
		"grub":      {hw.ArchEFIx64.GRUB(), LoaderFile{hw.ArchEFIx64.GRUB(), "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed", "grub-efi-amd64-signed"}, true},
		"shim":      {hw.ArchEFIx64.Shim(), LoaderFile{hw.ArchEFIx64.Shim(), "/usr/lib/shim/shimx64.efi.signed", "shim-signed"}, true},
		"grub mod":  {"grub/x86_64-efi/http.mod", LoaderFile{"grub/x86_64-efi/http.mod", "/usr/lib/grub/x86_64-efi/http.mod", "grub-efi-amd64-bin"}, true},
		"grub lst":  {"grub/x86_64-efi/command.lst", LoaderFile{"grub/x86_64-efi/command.lst", "/usr/lib/grub/x86_64-efi/command.lst", "grub-efi-amd64-bin"}, true},
		"grub cfg":  {"grub/x86_64-efi/grub.cfg", LoaderFile{}, false},
		"grub deep": {"grub/x86_64-efi/x/http.mod", LoaderFile{}, false},
		"grub bare": {"grub/x86_64-efi/.mod", LoaderFile{}, false},
		"nested":    {"x/menu.c32", LoaderFile{}, false},
		"bare ext":  {".c32", LoaderFile{}, false},
		"other":     {"vmlinuz", LoaderFile{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := Loaders{}.Lookup(tc.name)
			if diff := cmp.Diff(tc.want, got); diff != "" || ok != tc.ok {
				t.Errorf("Lookup(%q) ok=%v (-want +got):\n%s", tc.name, ok, diff)
			}
		})
	}
	errs := Loaders{Dir: t.TempDir()}.Missing(LPXELinux, "menu.c32")
	if len(errs) != 2 {
		t.Fatalf("Missing = %v, want two errors", errs)
	}
	var me *MissingLoaderError
	if !errors.As(errs[0], &me) || !errors.Is(errs[0], fs.ErrNotExist) || me.File.Package != "pxelinux" {
		t.Errorf("Missing()[0] = %v, want a MissingLoaderError for pxelinux wrapping fs.ErrNotExist", errs[0])
	}
}

// TestOptionsOutOfRange: values RFC 2347/2348/2349/7440 do not allow are
// left out of the OACK, so the RFC 1350 defaults apply (RFC 2347: a
// server may omit an option it does not accept); tsize in a read request
// is always replaced by the real size; names match in any case.
func TestOptionsOutOfRange(t *testing.T) {
	addr, _, _ := userServer(t)
	tests := map[string]struct {
		opts []string
		want string
	}{
		"blksize 8 (RFC 2348 minimum)":   {[]string{"blksize", "8"}, "OACK blksize=8"},
		"blksize 511":                    {[]string{"blksize", "511"}, "OACK blksize=511"},
		"blksize 7":                      {[]string{"blksize", "7"}, "DATA 1 (512 bytes)"},
		"blksize 65465 (above RFC 2348)": {[]string{"blksize", "65465"}, "DATA 1 (512 bytes)"},
		"blksize 70000":                  {[]string{"blksize", "70000"}, "DATA 1 (512 bytes)"},
		"blksize 0":                      {[]string{"blksize", "0"}, "DATA 1 (512 bytes)"},
		"blksize negative":               {[]string{"blksize", "-1468"}, "DATA 1 (512 bytes)"},
		"blksize not a number":           {[]string{"blksize", "big"}, "DATA 1 (512 bytes)"},
		"blksize huge number":            {[]string{"blksize", "99999999999999999999"}, "DATA 1 (512 bytes)"},
		"tsize garbage replaced":         {[]string{"tsize", "lots"}, "OACK tsize=4411"},
		"tsize wrong replaced":           {[]string{"tsize", "12"}, "OACK tsize=4411"},
		"timeout 0":                      {[]string{"timeout", "0"}, "DATA 1 (512 bytes)"},
		"timeout 256":                    {[]string{"timeout", "256"}, "DATA 1 (512 bytes)"},
		"timeout 5":                      {[]string{"timeout", "5"}, "OACK timeout=5"},
		"windowsize 0":                   {[]string{"windowsize", "0"}, "DATA 1 (512 bytes)"},
		"windowsize 65536":               {[]string{"windowsize", "65536"}, "DATA 1 (512 bytes)"},
		"windowsize capped":              {[]string{"windowsize", "65535"}, fmt.Sprintf("OACK windowsize=%d", DefaultMaxWindowSize)},
		"upper-case name echoed":         {[]string{"BLKSIZE", "1468"}, "OACK BLKSIZE=1468"},
		"mixed case, first of two":       {[]string{"WindowSize", "2", "windowsize", "8"}, "OACK WindowSize=2"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := newRawClient(t)
			c.send(addr, reqPacket(opRRQ, "odd.bin", tc.opts...))
			p, from := c.recv(2 * time.Second)
			if diff := cmp.Diff(tc.want, p.String()); diff != "" {
				t.Errorf("first reply (-want +got):\n%s", diff)
			}
			if from != "" {
				c.send(from, errorPacket(0, "enough"))
			}
		})
	}
}
