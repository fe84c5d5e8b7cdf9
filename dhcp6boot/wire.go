package dhcp6boot

import (
	"encoding/binary"
	"fmt"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// maxPacket is the largest datagram handled. A client message fits in
// one frame; each relay envelope adds 38 bytes and its options.
const maxPacket = 8192

// relayHeader is the fixed part of a Relay-Forw: type, hop count,
// link-address and peer-address (RFC 8415 section 9).
const relayHeader = 2 + 16 + 16

// unwrapCheck walks the relay envelopes of a datagram before it is
// parsed, so that nesting deeper than HopLimit is refused without being
// parsed, and returns the innermost message's type. Every option of each
// envelope must end inside it, and each envelope must carry a Relay
// Message option (9). A Relay-Repl is something a server sends, never
// receives.
func unwrapCheck(b []byte) (inner uint8, err error) {
	if len(b) > maxPacket {
		return 0, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(b), maxPacket)
	}
	for depth := 0; ; depth++ {
		if len(b) < 4 {
			return 0, fmt.Errorf("%w: %d bytes, shorter than a header", ErrMalformed, len(b))
		}
		switch dhcpv6.MessageType(b[0]) {
		case dhcpv6.MessageTypeRelayReply:
			return b[0], fmt.Errorf("%w: a RELAY-REPL sent to a server", ErrMalformed)
		case dhcpv6.MessageTypeRelayForward:
		default:
			return b[0], optionsEnd(b[4:])
		}
		if depth == HopLimit {
			return b[0], fmt.Errorf("%w: relay envelopes nested deeper than the hop limit %d (RFC 8415 7.6)", ErrMalformed, HopLimit)
		}
		if len(b) < relayHeader {
			return b[0], fmt.Errorf("%w: RELAY-FORW of %d bytes, shorter than its header", ErrMalformed, len(b))
		}
		msg, err := relayMsg(b[relayHeader:])
		if err != nil {
			return b[0], err
		}
		b = msg
	}
}

// optionsEnd checks that the options in b each end inside it.
func optionsEnd(b []byte) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return fmt.Errorf("%w: %d bytes after the last option", ErrMalformed, len(b))
		}
		code, n := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if 4+n > len(b) {
			return fmt.Errorf("%w: option %d of %d bytes runs past the end (%d left)", ErrMalformed, code, n, len(b)-4)
		}
		b = b[4+n:]
	}
	return nil
}

// relayMsg returns the data of the Relay Message option (9) among the
// options in b, checking every option's length.
func relayMsg(b []byte) ([]byte, error) {
	if err := optionsEnd(b); err != nil {
		return nil, err
	}
	for len(b) > 0 {
		code, n := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if dhcpv6.OptionCode(code) == dhcpv6.OptionRelayMsg {
			return b[4 : 4+n], nil
		}
		b = b[4+n:]
	}
	return nil, fmt.Errorf("%w: RELAY-FORW without a relay message option (9)", ErrMalformed)
}
