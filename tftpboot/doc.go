// Package tftpboot serves network boot programs over TFTP.
//
// It owns the iPXE NBPs embedded in the binary (hw.NBPUndionly, hw.NBPSnponly
// and hw.NBPIPXEEFI, copied from Debian's ipxe package; see nbp/README.md), the
// boot loaders taken from the host's Debian packages (Loaders: lpxelinux.0,
// pxelinux.0 and the syslinux modules, Debian's signed GRUB network image, shim),
// and a read-only, root-confined view of an optional user TFTP root
// layered over both (Files). Server serves that view with
// github.com/pin/tftp/v3, the way net/http serves HTTP: a zero Server
// serves the embedded NBPs, Serve takes a socket, Shutdown drains.
// Configuration files that are made per machine (pxelinux.cfg/01-<mac>,
// grub/grub.cfg-01-<mac>; see ParseConfigName) come from the
// Server.Render hook, which the caller implements with its menus; this
// package knows their names, not their contents.
//
// Request names are cleaned like tftpd-hpa does: a leading "/" means the
// TFTP root and "\" is a separator. Anything that could leave the root
// (a ".." element, a symlink pointing out) and anything but a regular
// file is refused with TFTP error 2, "access violation"; a missing file
// gets error 1, "file not found" (naming the Debian package for a
// missing loader); write requests get error 2; a request beyond
// Server.MaxTransfers gets error 0, "server busy". Each read is logged
// once with its file, peer, outcome, bytes, duration, blksize and
// retransmissions, and counted (Server.Stats).
//
// Behaviour of pin/tftp v3.1.0 that shapes this package:
//   - Its error packets always carry code 1. For other codes the handler
//     first sends its own error packet from a fresh port; the client takes
//     that as the reply and ignores pin/tftp's code-1 packet that follows.
//   - The blksize clamp is the MTU of the interface a request arrived on,
//     learnt from IP_PKTINFO; without it (a PacketConn that is not a
//     *net.UDPConn, or a request queued before the option was set)
//     blksize is capped at 512. Serve sets the option as early as it can.
//     In single-port mode it subtracts 48 bytes of headers for IPv4 too,
//     so Ethernet gets 1452, and EnableSinglePort caps blksize at 512
//     unless a cap is set first; Server sets 1468.
//   - blksize below 512 or above 65464, or not a number, and every option
//     but blksize and tsize (timeout, windowsize), is left out of the
//     OACK, so the RFC 1350 default applies, which RFC 2347 allows.
//     Option names are matched case-sensitively, although RFC 2347 says
//     they are not; "BLKSIZE" gets 512-byte blocks.
//   - It acknowledges tsize only when the size is not zero, so an empty
//     file's size is never announced.
//   - It sleeps a random 0-1s before each retransmission; Server sets
//     that backoff to zero, so a lost packet costs one Timeout and a
//     vanished client frees its slot after (Retries+1) × Timeout.
//   - It reports DatagramsSent and DatagramsAcked per transfer; the
//     difference is the retransmissions.
//   - Shutdown closes the listening socket, then waits without limit for
//     every transfer in flight; a transfer with a silent client ends after
//     Timeout × (Retries+1). Server.Shutdown bounds that wait with its
//     context and then makes the remaining transfers fail. In single-port
//     mode pin/tftp's Shutdown neither closes the socket nor waits, and
//     its transfers need the socket for their ACKs, so Server.Shutdown
//     waits for them first and closes the socket itself.
//   - It has no windowsize (RFC 7440): every block waits for its ACK.
package tftpboot
