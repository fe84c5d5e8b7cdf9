package dhcpboot

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Mode is how the server takes part in DHCP on its network.
type Mode int

// The DHCP modes.
const (
	// ModeProxy answers PXE clients only, beside the network's own DHCP
	// server, and never hands out an address (PXE 2.1 proxyDHCP).
	ModeProxy Mode = iota
	// ModeFull is a DHCP server: it leases addresses and adds boot options
	// for PXE clients.
	ModeFull
)

// String returns "proxy" or "full".
func (m Mode) String() string {
	if m == ModeFull {
		return "full"
	}
	return "proxy"
}

// ParseMode parses "proxy" or "full".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "proxy":
		return ModeProxy, nil
	case "full":
		return ModeFull, nil
	}
	return 0, fmt.Errorf("unknown dhcp mode %q (want proxy, full or off)", s)
}

// offerHold is how long an offered address is kept for the client's REQUEST.
const offerHold = 30 * time.Second

// errIgnore explains why a request gets no reply; it is not a failure.
type errIgnore string

func (e errIgnore) Error() string { return string(e) }

// handle decides the reply to one parsed request. port4011 says whether it
// arrived on the PXE boot server port. It returns a nil reply and an
// errIgnore when the request is to be left unanswered.
func (s *Server) handle(req *dhcpv4.DHCPv4, c Client, d Decision, port4011 bool) (*dhcpv4.DHCPv4, error) {
	if port4011 {
		// PXE 2.1 section 2.2.6: the boot server answers a REQUEST (or
		// INFORM) on port 4011 with an ACK carrying the boot file.
		if (c.Type != dhcpv4.MessageTypeRequest && c.Type != dhcpv4.MessageTypeInform) || !d.Boot {
			return nil, errIgnore(d.Reason + " on port 4011")
		}
		return proxyReply(req, c, d, s.Address, dhcpv4.MessageTypeAck), nil
	}
	if s.Mode == ModeFull {
		return s.handleFull(req, c, d)
	}
	if !d.Boot {
		return nil, errIgnore(d.Reason)
	}
	switch {
	case c.Type == dhcpv4.MessageTypeDiscover:
		return proxyReply(req, c, d, s.Address, dhcpv4.MessageTypeOffer), nil
	case c.Type == dhcpv4.MessageTypeRequest && c.ServerID == s.Address:
		// Some ROMs send the boot request to port 67 of the proxy they
		// selected; answer it like port 4011.
		return proxyReply(req, c, d, s.Address, dhcpv4.MessageTypeAck), nil
	}
	return nil, errIgnore(c.Type.String() + " not for a proxy")
}

// handleFull runs the RFC 2131 server side for one request.
func (s *Server) handleFull(req *dhcpv4.DHCPv4, c Client, d Decision) (*dhcpv4.DHCPv4, error) {
	n := s.Network
	switch c.Type {
	case dhcpv4.MessageTypeDiscover:
		addr, err := s.pool.Offer(c.MAC, c.RequestedIP, offerHold)
		if err != nil {
			return nil, fmt.Errorf("offer to %s: %w", c.MAC, err)
		}
		return leaseReply(req, c, d, s.Address, n, addr, dhcpv4.MessageTypeOffer), nil
	case dhcpv4.MessageTypeRequest:
		if c.ServerID.IsValid() && c.ServerID != s.Address {
			return nil, errIgnore("client selected server " + c.ServerID.String())
		}
		want := c.RequestedIP
		if !want.IsValid() {
			want = c.ClientIP // RENEWING or REBINDING: the address is in ciaddr
		}
		if !want.IsValid() {
			return nil, errIgnore("request names no address")
		}
		if err := s.pool.Commit(c.MAC, want, n.LeaseTime); err != nil {
			// RFC 2131 4.3.2: a client asking for an address it cannot
			// have (wrong network, another client's) is told so.
			return nakReply(req, s.Address, err.Error()), nil
		}
		return leaseReply(req, c, d, s.Address, n, want, dhcpv4.MessageTypeAck), nil
	case dhcpv4.MessageTypeRelease:
		s.pool.Release(c.MAC, c.ClientIP)
		return nil, errIgnore("released " + c.ClientIP.String())
	case dhcpv4.MessageTypeDecline:
		s.pool.Decline(c.MAC, c.RequestedIP, n.LeaseTime)
		return nil, errIgnore("declined " + c.RequestedIP.String())
	case dhcpv4.MessageTypeInform:
		return leaseReply(req, c, d, s.Address, n, netip.Addr{}, dhcpv4.MessageTypeAck), nil
	}
	return nil, errIgnore("message type " + c.Type.String())
}

// isIgnore reports whether err only explains an unanswered request.
func isIgnore(err error) bool {
	var e errIgnore
	return errors.As(err, &e)
}
