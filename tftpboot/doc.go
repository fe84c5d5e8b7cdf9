// Package tftpboot serves network boot programs over TFTP.
//
// It owns the iPXE NBPs embedded in the binary (hw.NBPUndionly, hw.NBPSnponly
// and hw.NBPIPXEEFI, copied from Debian's ipxe package; see nbp/README.md), the
// boot loaders taken from the host's Debian packages (Loaders: lpxelinux.0,
// pxelinux.0 and the syslinux modules, Debian's signed GRUB network image, shim),
// and a read-only, root-confined view of an optional user TFTP root
// layered over both (Files). Server serves that view the way net/http
// serves HTTP: a zero Server serves the embedded NBPs, Serve takes a
// socket, Shutdown drains. Configuration files that are made per machine
// (pxelinux.cfg/01-<mac>, grub/grub.cfg-01-<mac>; see ParseConfigName)
// come from the Server.Render hook, which the caller implements with its
// menus; this package knows their names, not their contents.
//
// Request names are cleaned like tftpd-hpa does: a leading "/" means the
// TFTP root and "\" is a separator. Anything that could leave the root
// (a ".." element, a symlink pointing out), anything but a regular file
// and a name over 512 bytes is refused with TFTP error 2, "access
// violation"; a missing file gets error 1, "file not found" (naming the
// Debian package for a missing loader); write requests get error 2; a
// request beyond Server.MaxTransfers gets error 0, "server busy". Each
// read is logged once with its file, peer, outcome, bytes, duration,
// blksize, windowsize and retransmissions, and counted (Server.Stats).
//
// # The protocol engine
//
// The TFTP read path is this package's own, written from RFC 1350 (TFTP),
// RFC 2347 (options), RFC 2348 (blksize), RFC 2349 (tsize, timeout) and
// RFC 7440 (windowsize). It replaced github.com/pin/tftp/v3 (v3.1.0),
// whose server had no windowsize, opened each transfer's socket itself
// (so every ACK cost a wake-up through Go's netpoller: 0.82 of tftpd-hpa
// in lock-step), silently dropped requests over 516 bytes, and in
// single-port mode crashed on a datagram over 516 bytes from an active
// transfer's client. Its single-port mode went too: keeping pin/tftp for
// it alone would have kept that crash and a second set of behaviours to
// test every client against, where the engine's single-port mode is one
// more endpoint (portConn) under the same sender. pin/tftp's client is
// still used, by internal/doctor and as an independent client in tests.
//
// The listening socket (listener) reads with a buffer for the largest UDP
// datagram and IP_PKTINFO (IPV6_RECVPKTINFO on an IPv6 or dual-stack
// socket) for each datagram's destination address and interface. Listen
// gives it a receive buffer of ListenReceiveBuffer (4 MiB), where Linux's
// default holds a few hundred queued requests of a boot storm (and, in
// SinglePort mode, of its ACKs). The interface caps blksize: its MTU less
// the IP, UDP and TFTP headers (1468 for IPv4 on Ethernet, whether the
// socket is IPv4 or dual-stack; 1448 for IPv6), so no DATA packet is sent
// in IP fragments.
// Anything that is not a well-formed read or write request is dropped and
// counted (Stats.Dropped), as is a request repeated by a client whose
// transfer from the same port is running. Requests are parsed into a
// request and their options negotiated by a pure function (negotiate).
// Only octet mode is served: netascii (and mail) get error 4, because
// converting on the fly would change the size tsize announces and the
// offsets a window is resent from, and no boot client uses it.
//
// Each transfer gets a UDP socket of its own, bound to the address its
// request came to and connected to the client's address and port (so the
// kernel drops datagrams from anyone else). While no more transfers run
// than GOMAXPROCS, it is a blocking socket read by the transfer's
// goroutine locked to its OS thread with SO_RCVTIMEO, as tftpd-hpa reads
// its sockets (fdConn): an ACK costs one wake-up of that thread, where
// pin/tftp's net.UDPConn measured 0.82 of tftpd-hpa lock-step. The thread
// ends with the transfer. Transfers beyond GOMAXPROCS get a net.UDPConn
// (polledConn), which parks in Go's netpoller: there more blocked threads
// would queue for the Ps to run on, and a storm would start a thread per
// client (30.9 KiB per held transfer against 9.1 in make bench-tftp, same
// rate). BenchmarkStorm and make bench-tftp run the engine with each kind
// alone beside the mix. In SinglePort
// mode all of a transfer's packets go through the listening socket, and
// the listener hands each client's datagrams (at most 516 bytes of each,
// so no length of datagram can hurt) to its transfer by address and port.
//
// The sender reads each block from the file at its offset (io.ReaderAt),
// so a transfer holds one packet buffer, not the file, and a window is
// resent by reading it again; buffers come from pools. On a socket of
// its own a window's DATA packets go out with one sendmmsg(2), up to 32
// KiB of them at a time (batch.go), not a write(2) each. Windows of
// windowsize blocks are sent, then the ACK of the last awaited; an ACK
// inside the window restarts after it; duplicate ACKs and ACKs outside the
// window are ignored and only the timeout resends (no Sorcerer's
// Apprentice). Block numbers roll over from 65535 to 0, as tftpd-hpa and
// atftpd do. A client that answers the OACK with error 8 has learnt the
// size it asked for (UEFI firmware does this before each download): that
// is counted as a size probe and logged at Debug.
//
// Shutdown closes the listening sockets and waits; if its context
// expires, every transfer left is interrupted (a shutdown(2) wakes its
// blocked read), sends error 0 "server shutting down" and ends.
package tftpboot
