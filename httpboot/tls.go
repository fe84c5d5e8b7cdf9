package httpboot

import (
	"crypto/tls"
	"errors"
	"net"
)

// The HTTPS listener serves the same router, policy, limits and timeouts
// as the HTTP one, from the same http.Server: Shutdown stops both, and a
// request is answered alike whichever port it came in on. Only the URLs
// the boot policy hands out decide which clients are sent to which port.

// ListenTLS opens the TCP listener ServeTLS serves (TLSAddr), for a caller
// that binds every port before it drops privileges.
func (s *Server) ListenTLS() (net.Listener, error) {
	if s.TLSAddr == "" {
		return nil, errors.New("httpboot: no TLSAddr")
	}
	return net.Listen("tcp", s.TLSAddr)
}

// ServeTLS accepts TCP connections on l and serves HTTPS on them with
// TLSConfig until Shutdown; it returns nil then. TLS 1.2 is the oldest
// version it speaks, whatever TLSConfig says, and it speaks HTTP/1.1
// only: boot clients (iPXE, firmware, installers) speak nothing newer,
// and the limits above are those of HTTP/1.1.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.TLSConfig == nil {
		return errors.New("httpboot: ServeTLS without TLSConfig")
	}
	c := s.TLSConfig.Clone()
	c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
	c.NextProtos = []string{"http/1.1"}
	return s.Serve(tls.NewListener(l, c))
}
