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

// sendAll sends pkts on fd as fdConn.send sends one: a packet the kernel
// refuses counts as lost on the wire, and only a closed socket is an
// error. On EAGAIN (a non-blocking socket's full send buffer) it returns
// the packets not yet sent with the error.
func (m *mmsgs) sendAll(fd int, pkts [][]byte) ([][]byte, error) {
	for len(pkts) > 0 {
		n, err := m.sendmmsg(fd, pkts)
		switch err {
		case nil:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return pkts, err
		case unix.EBADF:
			return pkts, fmt.Errorf("sendmmsg: %w", err)
		default:
			n = 1 // the first is lost; see fdConn.send
		}
		pkts = pkts[n:]
	}
	return nil, nil
}

// sendBatch: on a blocking socket EAGAIN is not expected; if it comes,
// the first packet counts as lost, as in send.
func (c *fdConn) sendBatch(pkts [][]byte) error {
	for {
		rest, err := c.mm.sendAll(c.fd, pkts)
		if err != unix.EAGAIN {
			return err
		}
		pkts = rest[1:]
	}
}

// sendBatch waits in the netpoller while the socket's send buffer is full.
func (c *polledConn) sendBatch(pkts [][]byte) error {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		pkts, serr = c.mm.sendAll(int(fd), pkts)
		return serr != unix.EAGAIN
	}); err != nil {
		return err
	}
	return serr
}
