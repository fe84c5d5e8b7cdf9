package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLookupRunAs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root; the lookups below assume it")
	}
	tests := []struct {
		name    string
		want    *runAs
		wantErr string
	}{
		{name: "", want: nil},
		{name: "nobody", want: &runAs{name: "nobody", uid: 65534, gid: 65534, groups: []int{65534}}},
		{name: "65534", want: &runAs{name: "nobody", uid: 65534, gid: 65534, groups: []int{65534}}},
		{name: "root", wantErr: `--user "root" is root: name an unprivileged user`},
		{name: "0", wantErr: `--user "0" is root`},
		{name: "no-such-user-bw", wantErr: `--user "no-such-user-bw": user: unknown user no-such-user-bw`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lookupRunAs(tc.name)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(runAs{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// chownTree hands over the tree and changes links themselves: a link to a
// file outside the tree leaves that file alone.
func TestChownTree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	top := t.TempDir()
	dir, outside := filepath.Join(top, "state"), filepath.Join(top, "outside")
	for _, err := range []error{
		os.MkdirAll(filepath.Join(dir, "cache", "files"), 0o750),
		os.WriteFile(filepath.Join(dir, "state.db"), nil, 0o600),
		os.WriteFile(filepath.Join(dir, "cache", "files", "k"), nil, 0o600),
		os.WriteFile(outside, nil, 0o600),
		os.Symlink(outside, filepath.Join(dir, "link")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := chownTree(dir, 65534, 65533); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) [2]uint32 {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return [2]uint32{st.Uid, st.Gid}
	}
	got := map[string][2]uint32{}
	for _, p := range []string{"", "state.db", "cache", "cache/files", "cache/files/k", "link", "../outside"} {
		got[p] = owner(filepath.Join(dir, p))
	}
	to, root := [2]uint32{65534, 65533}, [2]uint32{0, 0}
	want := map[string][2]uint32{"": to, "state.db": to, "cache": to, "cache/files": to, "cache/files/k": to, "link": to, "../outside": root}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}
	if err := chownTree(filepath.Join(top, "missing"), 65534, 65534); err != nil {
		t.Errorf("missing dir: %v, want nil", err)
	}
}

func TestReadable(t *testing.T) {
	dir := t.TempDir()
	if err := readable(dir); err != nil {
		t.Errorf("empty dir: %v", err)
	}
	f := filepath.Join(dir, "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := readable(f); err == nil {
		t.Error("a file read as a directory")
	}
	if err := readable(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing dir read")
	}
}
