package tftpboot

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchBytes bounds the DATA packets of a window sent with one
// sendmmsg(2), and so the packet buffer a windowed transfer holds.
const batchBytes = 32 << 10

// batchLen is how many DATA packets of blksize one batch holds for a
// window of window blocks; 1 means each is sent alone.
func batchLen(blksize, window int) int {
	return max(1, min(window, batchBytes/(blksize+4)))
}

// batchSender is an endpoint that sends several packets with one system
// call. A window's blocks then cost one sendmmsg(2) instead of a write(2)
// each (BenchmarkLockStep's window rows).
type batchSender interface {
	sendBatch(pkts [][]byte) error
}

// mmsghdr is struct mmsghdr of sendmmsg(2); Go pads it as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// mmsgs is the sendmmsg(2) vector of one transfer, kept between windows.
type mmsgs struct {
	iov []unix.Iovec
	hdr []mmsghdr
}

// sendmmsg sends pkts on the connected socket fd and returns how many the
// kernel took before an error.
func (m *mmsgs) sendmmsg(fd int, pkts [][]byte) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	if cap(m.hdr) < len(pkts) {
		m.iov, m.hdr = make([]unix.Iovec, len(pkts)), make([]mmsghdr, len(pkts))
	}
	m.iov, m.hdr = m.iov[:len(pkts)], m.hdr[:len(pkts)]
	for i, p := range pkts {
		m.iov[i].Base = &p[0]
		m.iov[i].SetLen(len(p))
		m.hdr[i] = mmsghdr{}
		m.hdr[i].hdr.Iov = &m.iov[i]
		m.hdr[i].hdr.SetIovlen(1)
	}
	n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdr[0])),
		uintptr(len(pkts)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// sendBatch sends pkts, each as send would: a packet the kernel refuses
// counts as lost on the wire, and only a closed socket is an error.
func (c *fdConn) sendBatch(pkts [][]byte) error {
	for len(pkts) > 0 {
		n, err := c.mm.sendmmsg(c.fd, pkts)
		switch err {
		case nil:
		case unix.EINTR:
			continue
		case unix.EBADF:
			return fmt.Errorf("sendmmsg: %w", err)
		default:
			n = 1 // the first is lost; see send
		}
		pkts = pkts[n:]
	}
	return nil
}

// sendBatch sends pkts through the net.UDPConn's socket, waiting in the
// netpoller while its send buffer is full; otherwise as fdConn's.
func (c *polledConn) sendBatch(pkts [][]byte) error {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Write(func(fd uintptr) bool {
		for len(pkts) > 0 {
			n, err := c.mm.sendmmsg(int(fd), pkts)
			switch err {
			case nil:
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			default:
				n = 1
			}
			pkts = pkts[n:]
		}
		return true
	})
}
