package menus

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

// An assets folder's title and cmdline files reach the boot script's
// lines, so a control character in them (a NUL ends the line early in the
// boot loader) leaves that folder out with an error, not the others.
// Found by FuzzRender.
func TestAssetEntriesChecked(t *testing.T) {
	c, err := Load(tree(map[string]string{"menus/default.yaml": "entries:\n  - {name: local, type: local}\n  - type: assets\n"}))
	if err != nil {
		t.Fatal(err)
	}
	assets, err := ScanAssets(fstest.MapFS{
		"good/vmlinuz":        {Data: []byte("k")},
		"good/title":          {Data: []byte("Good \t OS\n")},
		"good/cmdline":        {Data: []byte("console=ttyS0\nquiet\n")},
		"nultitle/vmlinuz":    {Data: []byte("k")},
		"nultitle/title":      {Data: []byte("Rescue\x00")},
		"escargs/vmlinuz":     {Data: []byte("k")},
		"escargs/cmdline":     {Data: []byte("console=ttyS0 \x1b[31m")},
		"plain/vmlinuz-6.1.0": {Data: []byte("k")},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Resolve(Request{MAC: hw.MAC{2, 0, 0, 0, 0, 1}}, Server{URL: "http://h", AssetsURL: "http://h/assets"}, assets)
	if err != nil {
		t.Fatal(err)
	}
	var got []ResolvedEntry
	for _, e := range d.Menu.Entries {
		if e.Type == TypeKernel {
			got = append(got, e)
		}
	}
	want := []ResolvedEntry{
		{Name: "good", Title: "Good OS", Type: TypeKernel, Label: "good", Kernel: "http://h/assets/good/vmlinuz", Args: "console=ttyS0 quiet"},
		{Name: "plain", Title: "plain", Type: TypeKernel, Label: "plain", Kernel: "http://h/assets/plain/vmlinuz-6.1.0"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("asset entries (-want +got):\n%s", diff)
	}
	var errs []string
	for _, err := range d.Errors {
		errs = append(errs, err.Error())
	}
	wantErrs := []string{
		`assets/escargs: entry "escargs": args "console=ttyS0 \x1b[31m" has a control character or space after expansion`,
		`assets/nultitle: entry "nultitle": title "Rescue\x00" has a control character or space after expansion`,
	}
	if diff := cmp.Diff(wantErrs, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestAssetScannerSeesArchDirs: a CPU subfolder (arm64/) added to or
// removed from a folder the scanner already listed changes the listing,
// as a new folder does; before, the cached folder kept the CPU kernels it
// was first seen with until a restart.
func TestAssetScannerSeesArchDirs(t *testing.T) {
	fsys := fstest.MapFS{
		"testos/vmlinuz":   {Data: []byte("x86")},
		"testos/initrd.gz": {Data: []byte("x86")},
	}
	s := &AssetScanner{FS: fsys, TTL: time.Nanosecond}
	arm := func() (AssetFiles, uint64) {
		t.Helper()
		dirs, gen, err := s.DirsGen()
		if err != nil || len(dirs) != 1 {
			t.Fatalf("DirsGen = %v, %v", dirs, err)
		}
		return dirs[0].Arches["arm64"], gen
	}
	before, gen0 := arm()
	if before.Kernel != "" {
		t.Fatalf("arm64 before adding it: %+v", before)
	}
	fsys["testos/arm64/vmlinuz"] = &fstest.MapFile{Data: []byte("arm64")}
	fsys["testos/arm64/initrd.gz"] = &fstest.MapFile{Data: []byte("arm64")}
	time.Sleep(time.Millisecond)
	added, gen1 := arm()
	want := AssetFiles{Kernel: "arm64/vmlinuz", Initrds: []string{"arm64/initrd.gz"}}
	if diff := cmp.Diff(want, added); diff != "" || gen1 == gen0 {
		t.Errorf("after adding arm64/ (generation %d -> %d), -want +got:\n%s", gen0, gen1, diff)
	}
	delete(fsys, "testos/arm64/vmlinuz")
	delete(fsys, "testos/arm64/initrd.gz")
	time.Sleep(time.Millisecond)
	if removed, gen2 := arm(); removed.Kernel != "" || gen2 == gen1 {
		t.Errorf("after removing arm64/ (generation %d -> %d): %+v", gen1, gen2, removed)
	}
}
