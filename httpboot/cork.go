package httpboot

import (
	"context"
	"net"
	"net/http"
	"syscall"
)

// A response from memory goes out in one TCP segment where it fits, as
// nginx sends with tcp_nopush. net/http's connection buffer is 4 KiB, so
// the headers and a 4 KiB body leave in two writes, and on a fast link
// (loopback above all) each write is a segment of its own that both
// kernels handle in full. With TCP_CORK set on the socket while the
// response is written and flushed, the kernel holds the writes and sends
// them together when the cork comes off.

type connKey struct{}

// withConn is the http.Server's ConnContext: each request's context
// carries its connection, for corked.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// corked runs send, which writes a whole response, with the request's TCP
// connection corked, flushes the response and uncorks. Without a TCP
// connection (tests, other listeners) it only runs send.
func corked(w http.ResponseWriter, r *http.Request, send func()) {
	c, ok := r.Context().Value(connKey{}).(*net.TCPConn)
	if !ok {
		send()
		return
	}
	rc, err := c.SyscallConn()
	if err != nil || setCork(rc, 1) != nil {
		send()
		return
	}
	defer setCork(rc, 0) //nolint:errcheck // a socket that cannot uncork is gone
	send()
	_ = http.NewResponseController(w).Flush() // a failed flush fails the response anyway
}

func setCork(rc syscall.RawConn, on int) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, on)
	})
	if err != nil {
		return err
	}
	return serr
}
