package tftpboot

import (
	"bytes"
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
	pkt     []byte // batch × (blksize+4) bytes: the packets being sent
	batch   int    // DATA packets sent with one system call (batchLen)
	queued  [][]byte
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
			if err := s.sendBlock(k, k == end); err != nil {
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

// sendBlock sends block k, or the OACK for k = 0. With batching it
// queues the block and sends the queue when it is full or last is set.
func (s *sender) sendBlock(k int64, last bool) error {
	if k == 0 {
		return s.ep.send(appendOACK(s.pkt[:0], s.oack))
	}
	bs, ok := s.ep.(batchSender)
	if !ok || s.batch < 2 {
		p, err := s.fill(s.pkt, k)
		if err != nil {
			return err
		}
		return s.ep.send(p)
	}
	slot := len(s.queued) * (s.blksize + 4)
	p, err := s.fill(s.pkt[slot:slot+s.blksize+4], k)
	if err != nil {
		return err
	}
	s.queued = append(s.queued, p)
	if len(s.queued) < s.batch && !last {
		return nil
	}
	err = bs.sendBatch(s.queued)
	s.queued = s.queued[:0]
	return err
}

// fill makes block k's DATA packet in pkt and returns it.
func (s *sender) fill(pkt []byte, k int64) ([]byte, error) {
	off := (k - 1) * int64(s.blksize)
	n := int(min(int64(s.blksize), s.size-off))
	binary.BigEndian.PutUint16(pkt, opDATA)
	binary.BigEndian.PutUint16(pkt[2:], uint16(k)) // rolls over; see sender
	if n > 0 {
		m, err := s.r.ReadAt(pkt[4:4+n], off)
		if m < n {
			if err == nil || err == io.EOF {
				err = fmt.Errorf("file shrank to %d bytes while being sent", off+int64(m))
			}
			return nil, fmt.Errorf("%w block %d: %w", errReadFile, k, err)
		}
	}
	return pkt[:4+n], nil
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

// readerAt returns r as an io.ReaderAt, which lets a window be resent
// without keeping it in memory. os.File, embedded files and rendered
// bytes are ReaderAts; a Seeker is read through seeks; any other reader
// is read into memory.
func readerAt(r io.Reader) (io.ReaderAt, error) {
	switch r := r.(type) {
	case io.ReaderAt:
		return r, nil
	case io.ReadSeeker:
		return seekReaderAt{r}, nil
	}
	b, err := io.ReadAll(r)
	return bytes.NewReader(b), err
}

// seekReaderAt reads at an offset by seeking; one goroutine only.
type seekReaderAt struct{ r io.ReadSeeker }

func (s seekReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if _, err := s.r.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.ReadFull(s.r, p)
}
