package dhcpboot

import (
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLeaseCommit measures LeaseDB.commit on a real file, each
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
				op := leaseOp{addr: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), expiry: time.Unix(2e9, 0), state: stateBound}
				op.mac[0], op.mac[3], op.mac[4], op.mac[5] = 2, byte(i>>16), byte(i>>8), byte(i) // by index: no need to name the MAC type
				done := make(chan error, 1)
				d.commit([]leaseOp{op}, func(err error) { done <- err })
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
