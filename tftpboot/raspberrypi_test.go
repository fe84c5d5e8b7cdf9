package tftpboot

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

func TestSplitPiPrefix(t *testing.T) {
	type out struct {
		Rest string
		MAC  hw.MAC
		OK   bool
	}
	pi := hw.MustParseMAC("dc:a6:32:01:36:c2")
	tests := map[string]out{
		"9ffefdef/start4.elf":               {"start4.elf", hw.MAC{}, true},
		"9FFEFDEF/config.txt":               {"config.txt", hw.MAC{}, true},
		"dc-a6-32-01-36-c2/cmdline.txt":     {"cmdline.txt", pi, true},
		"DC-A6-32-01-36-C2/cmdline.txt":     {"cmdline.txt", pi, true},
		"9ffefdef/assets/debian/vmlinuz":    {"assets/debian/vmlinuz", hw.MAC{}, true},
		"9ffefdef/":                         {},
		"9ffefdef":                          {},
		"start4.elf":                        {},
		"9ffefde/start4.elf":                {},
		"9ffefdeff/start4.elf":              {},
		"9ffefdeg/start4.elf":               {},
		"dc:a6:32:01:36:c2/cmdline.txt":     {},
		"pxelinux.cfg/01-dc-a6-32-01-36-c2": {},
		"assets/9ffefdef/vmlinuz":           {},
	}
	for name, want := range tests {
		rest, mac, ok := SplitPiPrefix(name)
		if diff := cmp.Diff(want, out{rest, mac, ok}); diff != "" {
			t.Errorf("SplitPiPrefix(%q) (-want +got):\n%s", name, diff)
		}
	}
}

func TestIsPiFirmware(t *testing.T) {
	for name, want := range map[string]bool{
		"start4.elf": true, "start.elf": true, "start4cd.elf": true, "fixup4.dat": true, "bootcode.bin": true,
		"config.txt": false, "kernel8.img": false, "x/start4.elf": false, "start": false, ".elf": false, "fixup.bin": false,
	} {
		if got := IsPiFirmware(name); got != want {
			t.Errorf("IsPiFirmware(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestPiFiles(t *testing.T) {
	fsys := PiFiles(fstest.MapFS{
		"start4.elf":          {Data: []byte("shared firmware")},
		"assets/os/vmlinuz":   {Data: []byte("kernel")},
		"9ffefdef/start4.elf": {Data: []byte("this board's own")},
	})
	tests := map[string]string{
		"start4.elf":                          "shared firmware",
		"12345678/start4.elf":                 "shared firmware",
		"dc-a6-32-01-36-c2/start4.elf":        "shared firmware",
		"9ffefdef/start4.elf":                 "this board's own",
		"12345678/assets/os/vmlinuz":          "kernel",
		"12345678/missing.dtb":                "",
		"not-a-prefix/start4.elf":             "",
		"12345678/12345678/start4.elf":        "",
		"dc-a6-32-01-36-c2/assets/os/vmlinuz": "kernel",
	}
	for name, want := range tests {
		f, err := fsys.Open(name)
		if want == "" {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open(%q) = %v, want not found", name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", name, err)
			continue
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != want {
			t.Errorf("Open(%q) = %q, want %q", name, b, want)
		}
	}
}

func TestPiLoaders(t *testing.T) {
	dtbs := "/usr/lib/linux-image-*/broadcom/bcm2711-rpi-4-b.dtb"
	if m, _ := filepath.Glob(filepath.Dir(dtbs)); len(m) > 0 {
		dtbs = newestDir(piDTBGlob) + "/bcm2711-rpi-4-b.dtb"
	}
	tests := map[string]struct {
		want LoaderFile
		ok   bool
	}{
		"start4.elf":               {LoaderFile{"start4.elf", "/usr/lib/raspi-firmware/start4.elf", "raspi-firmware"}, true},
		"fixup4.dat":               {LoaderFile{"fixup4.dat", "/usr/lib/raspi-firmware/fixup4.dat", "raspi-firmware"}, true},
		"bootcode.bin":             {LoaderFile{"bootcode.bin", "/usr/lib/raspi-firmware/bootcode.bin", "raspi-firmware"}, true},
		"overlays/README":          {LoaderFile{"overlays/README", "/usr/lib/raspi-firmware/overlays/README", "raspi-firmware"}, true},
		"overlays/disable-bt.dtbo": {LoaderFile{"overlays/disable-bt.dtbo", "/usr/lib/raspi-firmware/overlays/disable-bt.dtbo", "raspi-firmware"}, true},
		"bcm2711-rpi-4-b.dtb":      {LoaderFile{"bcm2711-rpi-4-b.dtb", dtbs, "linux-image-arm64 (arm64)"}, true},
		"overlays/x/y.dtbo":        {},
		"overlays/x.txt":           {},
		"other.dtb":                {},
		"sub/start4.elf":           {},
	}
	for name, tc := range tests {
		got, ok := Loaders{}.Lookup(name)
		if diff := cmp.Diff(tc.want, got); diff != "" || ok != tc.ok {
			t.Errorf("Lookup(%q) ok=%v (-want +got):\n%s", name, ok, diff)
		}
	}

	// With --tftp-loader-dir, the same names come from that folder.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "overlays", "README"), []byte("readme"))
	f, err := Loaders{Dir: dir}.Open("overlays/README")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	var me *MissingLoaderError
	if _, err := (Loaders{Dir: dir}).Open("start4.elf"); !errors.As(err, &me) || me.File.Package != "raspi-firmware" {
		t.Errorf("Open(start4.elf) = %v, want a MissingLoaderError naming raspi-firmware", err)
	}
}

func TestNewestDir(t *testing.T) {
	top := t.TempDir()
	for _, v := range []string{"6.1.0-9-arm64", "6.1.0-28-arm64", "6.12.9+bpo-arm64", "5.10.0-30-arm64"} {
		if err := os.MkdirAll(filepath.Join(top, "linux-image-"+v, "broadcom"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got := newestDir(filepath.Join(top, "linux-image-*", "broadcom"))
	if want := filepath.Join(top, "linux-image-6.12.9+bpo-arm64", "broadcom"); got != want {
		t.Errorf("newestDir = %s, want %s", got, want)
	}
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"6.1.0-28", "6.1.0-9", 1}, {"6.1.0", "6.1.0", 0}, {"6.1", "6.1.0", -1}, {"a2", "a10", -1}, {"b", "a9", 1},
	} {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
