package tftpboot

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

// TestEmbeddedNBPsMatchSHA256SUMS recomputes the digest of every embedded
// NBP and compares it to nbp/SHA256SUMS, so a swapped or truncated binary,
// or one embedded without a recorded sum, fails the build.
func TestEmbeddedNBPsMatchSHA256SUMS(t *testing.T) {
	want := readSums(t, "nbp/SHA256SUMS")
	got := make(map[string]string)
	err := fs.WalkDir(nbpFiles, "nbp", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := nbpFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		got[strings.TrimPrefix(p, "nbp/")] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("embedded NBPs do not match nbp/SHA256SUMS (-want +got):\n%s", diff)
	}
	names := slices.Sorted(maps.Keys(got))
	if diff := cmp.Diff([]string{hw.NBPIPXEARM64, hw.NBPIPXEEFI, hw.NBPSnponly, hw.NBPUndionly}, names); diff != "" {
		t.Errorf("embedded names (-want +got):\n%s", diff)
	}
}

// readSums parses sha256sum output into name -> hex digest.
func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("%s: malformed line %q", path, sc.Text())
		}
		sums[name] = sum
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sums
}
