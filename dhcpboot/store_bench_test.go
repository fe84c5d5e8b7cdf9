package dhcpboot

import (
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/lease"
)

// BenchmarkLeaseCommit measures LeaseDB.Commit on a real file, each
// request waiting for its lease to be durable as a DHCP reply does:
// "serial" is one client at a time (one fsync per lease), "parallel" many
// clients at once, where group commit shares each fsync among them.
func BenchmarkLeaseCommit(b *testing.B) {
	for _, name := range []string{"serial", "parallel"} {
		b.Run(name, func(b *testing.B) {
			d, err := OpenLeaseDB(filepath.Join(b.TempDir(), LeaseFileName))
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			var n atomic.Uint32
			commit := func() {
				i := n.Add(1)
				op := lease.Op{Kind: lease.Bind, Addr: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), Expiry: time.Unix(2e9, 0)}
				op.MAC[0], op.MAC[3], op.MAC[4], op.MAC[5] = 2, byte(i>>16), byte(i>>8), byte(i) // by index: no need to name the MAC type
				done := make(chan error, 1)
				d.Commit([]lease.Op{op}, func(err error) { done <- err })
				if err := <-done; err != nil {
					b.Error(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			if name == "serial" {
				for range b.N {
					commit()
				}
				return
			}
			b.SetParallelism(64)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					commit()
				}
			})
		})
	}
}
