// Package tftpboot serves network boot programs over TFTP.
//
// It owns the iPXE NBPs embedded in the binary (UndionlyKPXE, SnponlyEFI
// and IPXEEFI, copied from Debian's ipxe package; see nbp/README.md) and
// a read-only, root-confined view of an optional user TFTP root layered
// over them (Files). Server serves that view with
// github.com/pin/tftp/v3, the way net/http serves HTTP: a zero Server
// serves the embedded NBPs, Serve takes a socket, Shutdown drains.
//
// Request names are cleaned like tftpd-hpa does: a leading "/" means the
// TFTP root and "\" is a separator. Anything that could leave the root
// (a ".." element, a symlink pointing out) and anything but a regular
// file is refused with TFTP error 2, "access violation"; a missing file
// gets error 1, "file not found"; write requests get error 2.
//
// Behaviour of pin/tftp v3.1.0 that shapes this package:
//   - Its error packets always carry code 1. For code 2 the handler first
//     sends its own error packet from a fresh port; the client takes that
//     as the reply and ignores pin/tftp's code-1 packet that follows.
//   - The blksize clamp is the MTU of the interface a request arrived on,
//     learnt from IP_PKTINFO; without it (a PacketConn that is not a
//     *net.UDPConn, or a request queued before the option was set)
//     blksize is capped at 512. Serve sets the option as early as it can.
//   - It acknowledges tsize only when the size is not zero, so an empty
//     file's size is never announced.
//   - Shutdown closes the listening socket, then waits without limit for
//     every transfer in flight; a transfer with a silent client ends after
//     Timeout × Retries plus random backoff. Server.Shutdown bounds that
//     wait with its context and then makes the remaining transfers fail.
package tftpboot
