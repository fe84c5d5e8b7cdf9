package tftpboot

import (
	"net"

	"golang.org/x/sys/unix"
)

// ListenReceiveBuffer is the receive buffer Listen asks for on the
// listening socket (SO_RCVBUF). A boot storm's requests, and in
// SinglePort mode every ACK of every transfer, queue there while the
// listener is busy; Linux's default (net.core.rmem_default, 208 KiB) holds
// only a few hundred datagrams, because each is charged its whole buffer
// (its truesize: about 1 KiB on loopback, 2-4 KiB from a NIC), not its 30
// to 100 bytes of payload. 4 MiB holds the requests of over a thousand
// machines booting at once. The kernel doubles the value it is given for
// its bookkeeping and, unless the process may override it (SO_RCVBUFFORCE
// with CAP_NET_ADMIN, as root has), caps it at net.core.rmem_max.
const ListenReceiveBuffer = 4 << 20

// setReceiveBuffer sets conn's receive buffer to n bytes, past
// net.core.rmem_max if the process may.
func setReceiveBuffer(conn net.PacketConn, n int) {
	control(conn, func(fd int) {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) != nil {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n)
		}
	})
}

// receiveBuffer returns conn's receive buffer as the kernel reports it
// (twice what was granted), or 0 if conn is not a UDP socket.
func receiveBuffer(conn net.PacketConn) int {
	n := 0
	control(conn, func(fd int) { n, _ = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF) })
	return n
}

// control runs f on conn's file descriptor, if conn is a UDP socket.
func control(conn net.PacketConn, f func(fd int)) {
	uc, ok := conn.(*net.UDPConn)
	if !ok {
		return
	}
	if rc, err := uc.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { f(int(fd)) })
	}
}

// enablePacketInfo asks the kernel for each datagram's destination
// address and interface (IP_PKTINFO, or IPV6_RECVPKTINFO, which also
// covers IPv4 clients of a dual-stack socket) as early as possible: a
// transfer's socket is bound to that address, and its blksize is capped
// by that interface's MTU. A request queued before the option was on
// arrives without them and is capped at blksize 512.
func enablePacketInfo(conn net.PacketConn) {
	control(conn, func(fd int) {
		d, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
		if err != nil {
			return
		}
		if d == unix.AF_INET6 {
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
			return
		}
		unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
	})
}
