package tftpboot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
)

// Opcodes (RFC 1350 section 5; OACK is RFC 2347's).
const (
	opRRQ   = 1
	opWRQ   = 2
	opDATA  = 3
	opACK   = 4
	opERROR = 5
	opOACK  = 6
)

// Error codes this server sends (RFC 1350 section 5, RFC 2347).
const (
	codeNotDefined      = 0
	codeNotFound        = 1
	codeAccessViolation = 2
	codeIllegalOp       = 4
	codeOptionRefused   = 8 // RFC 2347: the client ends the transfer after the OACK
)

// maxNameLen is the longest request name served. RFC 1350 sets no limit,
// but the whole request was meant to fit a 512-byte packet, and every TFTP
// server this one is measured against refuses longer names; a longer one
// gets error 2 before any lookup.
const maxNameLen = 512

// maxOptions is how many options of one request are looked at. RFC 2347
// defines four in use (blksize, tsize, timeout, windowsize); a request
// of thousands of empty options is cut, not refused.
const maxOptions = 16

// Reasons a datagram on the listening socket is not a request.
var (
	errShortPacket = errors.New("packet shorter than 4 bytes")
	errNotRequest  = errors.New("not a read or write request")
	errNoName      = errors.New("file name not terminated by NUL")
	errNoMode      = errors.New("mode not terminated by NUL")
)

// option is one RFC 2347 option of a request.
type option struct {
	name  string // as the client spelt it, echoed in the OACK
	key   string // name in lower case: option names are case-insensitive
	value string
}

// request is a parsed RRQ or WRQ (RFC 1350, RFC 2347):
//
//	| opcode | filename | 0 | mode | 0 | opt1 | 0 | value1 | 0 | ...
type request struct {
	op   int
	name string // raw, uncleaned; up to the datagram's length
	mode string // lower case: "octet", "netascii", "mail", ...
	opts []option
}

// parseRequest parses a datagram read on the listening socket. Options
// after the mode are read in pairs; a pair cut short by the end of the
// packet, an empty option name (padding some ROMs send) and options past
// maxOptions are ignored, as RFC 2347 lets a server ignore any option.
func parseRequest(p []byte) (request, error) {
	if len(p) < 4 {
		return request{}, errShortPacket
	}
	op := int(binary.BigEndian.Uint16(p))
	if op != opRRQ && op != opWRQ {
		return request{}, errNotRequest
	}
	rest := p[2:]
	name, rest, ok := cutNUL(rest)
	if !ok {
		return request{}, errNoName
	}
	mode, rest, ok := cutNUL(rest)
	if !ok {
		return request{}, errNoMode
	}
	req := request{op: op, name: string(name), mode: strings.ToLower(string(mode))}
	for len(rest) > 0 && len(req.opts) < maxOptions {
		var k, v []byte
		if k, rest, ok = cutNUL(rest); !ok {
			break
		}
		if v, rest, ok = cutNUL(rest); !ok {
			break
		}
		if len(k) == 0 {
			continue
		}
		req.opts = append(req.opts, option{name: string(k), key: strings.ToLower(string(k)), value: string(v)})
	}
	return req, nil
}

// cutNUL splits b at its first NUL byte.
func cutNUL(b []byte) (field, rest []byte, ok bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return nil, nil, false
	}
	return b[:i], b[i+1:], true
}

// appendError appends an ERROR packet.
func appendError(b []byte, code int, msg string) []byte {
	b = binary.BigEndian.AppendUint16(b, opERROR)
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	return append(append(b, msg...), 0)
}

// appendOACK appends an OACK packet (RFC 2347) carrying opts.
func appendOACK(b []byte, opts []option) []byte {
	b = binary.BigEndian.AppendUint16(b, opOACK)
	for _, o := range opts {
		b = append(append(b, o.name...), 0)
		b = append(append(b, o.value...), 0)
	}
	return b
}

// reply is a packet a client sends during a read transfer.
type reply struct {
	op   int    // opACK, opERROR, or another opcode, which is ignored
	num  uint16 // the block an ACK acknowledges, or an ERROR's code
	text string // an ERROR's message
}

// parseReply parses a packet a client sent to a transfer. ok is false
// for a packet shorter than 4 bytes. An ACK longer than 4 bytes is taken
// for its first 4, as other servers do.
func parseReply(p []byte) (r reply, ok bool) {
	if len(p) < 4 {
		return reply{}, false
	}
	r = reply{op: int(binary.BigEndian.Uint16(p)), num: binary.BigEndian.Uint16(p[2:])}
	if r.op == opERROR {
		msg, _, _ := cutNUL(p[4:])
		if msg == nil {
			msg = p[4:]
		}
		r.text = string(msg)
	}
	return r, true
}
