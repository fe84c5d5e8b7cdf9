package tftpboot

import (
	"cmp"
	"math/bits"
	"net"
	"sync"
	"time"
)

// limits returns what a request that came in as in may be granted.
func (s *Server) limits(in inbound) limits {
	blk := cmp.Or(s.MaxBlockSize, maxBlksize)
	if mtu, ok := interfaceMTU(in.ifindex); ok {
		// A DATA packet is the block and 4 bytes of TFTP header in UDP
		// in IP: 1468 for IPv4 on Ethernet (RFC 2348's example), 1448 for
		// IPv6; a larger block would leave the host in IP fragments.
		hdr := 20 + 8 + 4 // IPv4, UDP and TFTP headers
		if !in.peer.Addr().Is4() {
			hdr = 40 + 8 + 4
		}
		blk = min(blk, mtu-hdr)
	} else {
		blk = min(blk, defaultBlksize)
	}
	return limits{blksize: max(blk, minBlksize), window: cmp.Or(s.MaxWindowSize, DefaultMaxWindowSize)}
}

// mtuTTL is how long an interface's MTU is remembered: looking it up
// costs a netlink dump of every interface, too much for each request of
// a boot storm, and an MTU seldom changes.
const mtuTTL = 10 * time.Second

type mtuEntry struct {
	mtu int
	at  time.Time
}

var mtus sync.Map // interface index -> mtuEntry

// interfaceMTU returns the MTU of the interface with index i.
func interfaceMTU(i int) (int, bool) {
	if i <= 0 {
		return 0, false
	}
	if e, ok := mtus.Load(i); ok && time.Since(e.(mtuEntry).at) < mtuTTL {
		return e.(mtuEntry).mtu, true
	}
	ifi, err := net.InterfaceByIndex(i)
	if err != nil || ifi.MTU <= 0 {
		return 0, false
	}
	mtus.Store(i, mtuEntry{mtu: ifi.MTU, at: time.Now()})
	return ifi.MTU, true
}

// bufPools hold packet buffers by size class: class c holds buffers of
// 1<<c bytes, up to 64 KiB, so that transfers reuse what earlier ones
// allocated.
var bufPools [17]sync.Pool

// getBuf returns a buffer of n bytes (at most 65536).
func getBuf(n int) *[]byte {
	c := bits.Len(uint(n - 1))
	if b, ok := bufPools[c].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<c)
	return &b
}

// putBuf returns a buffer from getBuf to its pool.
func putBuf(b *[]byte) {
	bufPools[bits.Len(uint(cap(*b)-1))].Put(b)
}
