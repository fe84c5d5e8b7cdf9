package tftpboot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// errReadFile marks a failure to read the content being sent.
var errReadFile = errors.New("read")

// clientError is a transfer ended by the client's ERROR packet.
type clientError struct {
	code      uint16
	msg       string
	afterOACK bool // it answered the OACK, before any DATA
}

func (e *clientError) Error() string {
	return fmt.Sprintf("client sent error %d %q", e.code, e.msg)
}

// sender sends one file to one client with the negotiated options:
// windowsize blocks (RFC 7440), then it waits for the ACK of the last of
// them. Blocks are numbered from 1 (0 is the OACK); on the wire a block
// number is the low 16 bits, so after block 65535 comes block 0 again.
// RFC 1350 leaves rollover undefined and RFC 2348 does not mention it;
// tftpd-hpa and atftpd roll over to 0, and so do the clients that take
// files over 32 MiB at blksize 512 (tftp-hpa, atftp, curl, iPXE, edk2),
// so this server does too.
type sender struct {
	ep      endpoint
	r       io.ReaderAt
	size    int64
	blksize int
	window  int
	oack    []option // sent as block 0 when not empty
	timeout time.Duration
	retries int
	pkt     []byte // blksize+4 bytes, the packet being sent
	rb      []byte // the client's packet being read

	retransmits int   // DATA and OACK packets sent more than once
	acked       int64 // the highest block acknowledged
}

// run sends the OACK if there is one, then every block, and returns nil
// once the last block is acknowledged. The window [base, end] is resent
// from base when Timeout passes without an ACK in it, Retries times at
// most; an ACK of a block inside the window moves base past it and the
// next window follows at once. A duplicate ACK, an ACK outside the
// window or for a block not yet sent is ignored: resending on those
// would double every later packet (the Sorcerer's Apprentice bug, RFC
// 1123 section 4.2.3.1), so only the timeout resends.
func (s *sender) run() error {
	last := s.size/int64(s.blksize) + 1 // the last block is short, maybe empty
	base, sent := int64(1), int64(0)
	if len(s.oack) > 0 {
		base, sent = 0, -1
	}
	for tries := 0; ; {
		end := min(base+int64(s.window)-1, last)
		if base == 0 {
			end = 0 // the OACK waits for ACK 0 alone
		}
		for k := base; k <= end; k++ {
			if err := s.sendBlock(k); err != nil {
				return err
			}
			if k <= sent {
				s.retransmits++
			}
			sent = max(sent, k)
		}
		a, err := s.await(base, end, time.Now().Add(s.timeout))
		if errors.Is(err, errTimeout) {
			if tries++; tries > s.retries {
				return fmt.Errorf("block %d: no ACK after %d retransmissions: %w", base, s.retries, err)
			}
			continue
		}
		if err != nil {
			return err
		}
		tries, base, s.acked = 0, a+1, a
		if a == last {
			return nil
		}
	}
}

// bytes returns how many bytes of the file the client acknowledged.
func (s *sender) bytes() int64 {
	return min(max(s.acked, 0)*int64(s.blksize), s.size)
}

// sendBlock sends block k, or the OACK for k = 0.
func (s *sender) sendBlock(k int64) error {
	if k == 0 {
		return s.ep.send(appendOACK(s.pkt[:0], s.oack))
	}
	off := (k - 1) * int64(s.blksize)
	n := int(min(int64(s.blksize), s.size-off))
	binary.BigEndian.PutUint16(s.pkt, opDATA)
	binary.BigEndian.PutUint16(s.pkt[2:], uint16(k)) // rolls over; see sender
	if n > 0 {
		m, err := s.r.ReadAt(s.pkt[4:4+n], off)
		if m < n {
			if err == nil || err == io.EOF {
				err = fmt.Errorf("file shrank to %d bytes while being sent", off+int64(m))
			}
			return fmt.Errorf("%w block %d: %w", errReadFile, k, err)
		}
	}
	return s.ep.send(s.pkt[:4+n])
}

// await reads the client's packets until an ACK for a block in
// [base, end] arrives, and returns that block. An ERROR ends the
// transfer; anything else is ignored.
func (s *sender) await(base, end int64, deadline time.Time) (int64, error) {
	for {
		n, err := s.ep.recv(s.rb, deadline)
		if err != nil {
			return 0, err
		}
		r, ok := parseReply(s.rb[:n])
		switch {
		case !ok:
		case r.op == opACK:
			// How far past the last acknowledged block (base-1) it is, in
			// 16-bit arithmetic, so that it holds across a rollover.
			d := int64(r.num - uint16(base-1))
			if d >= 1 && base-1+d <= end {
				return base - 1 + d, nil
			}
		case r.op == opERROR:
			return 0, &clientError{code: r.num, msg: r.text, afterOACK: base == 0}
		}
	}
}
