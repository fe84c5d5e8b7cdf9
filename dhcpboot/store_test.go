package dhcpboot

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/lease"
	"github.com/bootwright/bootwright/internal/lease/leasetest"
)

func commitSync(t *testing.T, d *LeaseDB, ops []lease.Op) {
	t.Helper()
	if err := leasetest.Commit(t, d, ops...); err != nil {
		t.Fatal(err)
	}
}

// TestLeaseDBContract runs the lease store contract (shared with the
// PostgreSQL store) against the bbolt file.
func TestLeaseDBContract(t *testing.T) {
	leasetest.Run(t, leasetest.Backend{
		Open: func(t *testing.T) lease.Store {
			d, err := OpenLeaseDB(filepath.Join(t.TempDir(), LeaseFileName))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		},
		Reopen: func(t *testing.T, s lease.Store) lease.Store {
			path := s.(*LeaseDB).Path()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			d, err := OpenLeaseDB(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		},
	})
}

func TestLeaseDBRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", LeaseFileName)
	d, err := OpenLeaseDB(path)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Unix(2e9, 0)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	commitSync(t, d, []lease.Op{
		{Kind: lease.Bind, Addr: a, MAC: hw.MAC{2, 0, 0, 0, 0, 1}, Expiry: exp},
		{Kind: lease.Bind, Addr: b, MAC: hw.MAC{2, 0, 0, 0, 0, 2}, Expiry: exp},
	})
	commitSync(t, d, []lease.Op{{Kind: lease.Release, Addr: b, MAC: hw.MAC{2, 0, 0, 0, 0, 2}}})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = OpenLeaseDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if len(d.loaded) != 1 || d.loaded[0].Addr != a || !d.loaded[0].Expiry.Equal(exp) || d.loaded[0].MAC != (hw.MAC{2, 0, 0, 0, 0, 1}) {
		t.Errorf("reloaded %+v", d.loaded)
	}
	// A second opener (another bootwright on the same state dir) is refused.
	if _, err := OpenLeaseDB(path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second open: %v", err)
	}
}

// TestLeaseDBCorrupt damages the file in several ways; each must be
// refused with an error naming the file, never a panic or an empty table.
func TestLeaseDBCorrupt(t *testing.T) {
	good := filepath.Join(t.TempDir(), LeaseFileName)
	d, err := OpenLeaseDB(good)
	if err != nil {
		t.Fatal(err)
	}
	var ops []lease.Op
	for i := range 500 {
		ops = append(ops, lease.Op{Kind: lease.Bind, Addr: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), MAC: hw.MAC{2, 0, 0, 0, byte(i >> 8), byte(i)}, Expiry: time.Unix(2e9, 0)})
	}
	commitSync(t, d, ops)
	d.Close()
	orig, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]func([]byte) []byte{
		"garbage":    func([]byte) []byte { return []byte(strings.Repeat("not a database ", 1000)) },
		"truncated":  func(b []byte) []byte { return b[:100] },
		"meta pages": func(b []byte) []byte { c := clone(b); scribble(c[16:8192]); return c },
		"data pages": func(b []byte) []byte { c := clone(b); scribble(c[4*4096:]); return c },
	}
	for name, damage := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), LeaseFileName)
			if err := os.WriteFile(path, damage(orig), 0o600); err != nil {
				t.Fatal(err)
			}
			d, err := OpenLeaseDB(path)
			if err == nil {
				d.Close()
				t.Fatal("damaged lease file opened")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "refusing to start") {
				t.Errorf("error does not name the file and refuse: %v", err)
			}
		})
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func scribble(b []byte) {
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
}
