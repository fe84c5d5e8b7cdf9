package tftpboot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// scriptConn is an endpoint whose client is a function: it sees each
// packet the server sends and returns the packets to answer with. A recv
// with nothing queued times out at once (the client said nothing).
type scriptConn struct {
	sent   []string
	queue  [][]byte
	client func(p packet) [][]byte
}

func (c *scriptConn) send(p []byte) error {
	pkt := packet(append([]byte(nil), p...))
	c.sent = append(c.sent, pkt.String())
	c.queue = append(c.queue, c.client(pkt)...)
	return nil
}

func (c *scriptConn) recv(b []byte, _ time.Time) (int, error) {
	if len(c.queue) == 0 {
		return 0, errTimeout
	}
	p := c.queue[0]
	c.queue = c.queue[1:]
	return copy(b, p), nil
}

func (c *scriptConn) interrupt() {}
func (c *scriptConn) close()     {}

// batchConn is a scriptConn that takes batches (a batchSender) and
// records their sizes.
type batchConn struct {
	scriptConn
	batches []int
}

func (c *batchConn) sendBatch(pkts [][]byte) error {
	c.batches = append(c.batches, len(pkts))
	for _, p := range pkts {
		c.send(p)
	}
	return nil
}

// block returns the block number of a DATA packet, or -1.
func (p packet) block() int {
	if len(p) < 4 || binary.BigEndian.Uint16(p) != opDATA {
		return -1
	}
	return int(binary.BigEndian.Uint16(p[2:]))
}

// windowClient acknowledges the last block of every window of w blocks,
// and a short block, like an RFC 7440 client; drop says which DATA
// packets (by order of arrival, from 0) it loses.
func windowClient(w, blksize int, drop map[int]bool) func(packet) [][]byte {
	n, got := 0, 0 // packets seen, blocks taken in order
	return func(p packet) [][]byte {
		if p[1] == opOACK {
			return [][]byte{ack(0)}
		}
		i := n
		n++
		if drop[i] || p.block() != int(uint16(got+1)) {
			return nil // lost, or out of order: wait for the timeout
		}
		got++
		if got%w == 0 || len(p)-4 < blksize {
			return [][]byte{ack(uint16(got))}
		}
		return nil
	}
}

// TestSender runs each case once packet by packet and once through an
// endpoint that takes batches of at most 3 DATA packets: the same packets
// in the same order.
func TestSender(t *testing.T) {
	const blk = 8
	file := bytes.Repeat([]byte("abcdefgh"), 5)[:37] // blocks 1-4 full, 5 has 5 bytes
	for _, batch := range []int{1, 3} {
		for name, tc := range senderCases(blk) {
			t.Run(fmt.Sprintf("%s/batch %d", name, batch), func(t *testing.T) {
				testSender(t, file, blk, batch, tc)
			})
		}
	}
}

// senderCases are TestSender's cases for a file of 37 bytes in blocks of
// blk = 8, with fresh clients.
func senderCases(blk int) map[string]senderCase {
	ackAll := func(p packet) [][]byte {
		if p[1] == opOACK {
			return [][]byte{ack(0)}
		}
		return [][]byte{ack(uint16(p.block()))}
	}
	return map[string]senderCase{
		"lock-step": {window: 1, client: ackAll,
			want: []string{"DATA 1 (8 bytes)", "DATA 2 (8 bytes)", "DATA 3 (8 bytes)", "DATA 4 (8 bytes)", "DATA 5 (5 bytes)"}},
		"oack first": {window: 1, oack: true, client: ackAll,
			want: []string{"OACK blksize=8", "DATA 1 (8 bytes)", "DATA 2 (8 bytes)", "DATA 3 (8 bytes)", "DATA 4 (8 bytes)", "DATA 5 (5 bytes)"}},
		"window 2": {window: 2, client: windowClient(2, blk, nil),
			want: []string{"DATA 1 (8 bytes)", "DATA 2 (8 bytes)", "DATA 3 (8 bytes)", "DATA 4 (8 bytes)", "DATA 5 (5 bytes)"}},
		"window larger than the file": {window: 16, client: windowClient(16, blk, nil),
			want: []string{"DATA 1 (8 bytes)", "DATA 2 (8 bytes)", "DATA 3 (8 bytes)", "DATA 4 (8 bytes)", "DATA 5 (5 bytes)"}},
		// Block 2 is lost: the client acknowledges nothing, the window
		// times out and goes again from its start.
		"lost block, window resent": {window: 4, client: windowClient(4, blk, map[int]bool{1: true}), retransmits: 4,
			want: []string{"DATA 1 (8 bytes)", "DATA 2 (8 bytes)", "DATA 3 (8 bytes)", "DATA 4 (8 bytes)",
				"DATA 1 (8 bytes)", "DATA 2 (8 bytes)", "DATA 3 (8 bytes)", "DATA 4 (8 bytes)", "DATA 5 (5 bytes)"}},
		// An ACK for block 1 inside a window of 4: sending restarts at 2.
		"early ack restarts after it": {window: 4, retransmits: 3, client: func() func(packet) [][]byte {
			n := 0
			return func(p packet) [][]byte {
				n++
				switch {
				case n == 4:
					return [][]byte{ack(1)} // got 1, lost 2
				case p.block() == 5:
					return [][]byte{ack(5)}
				}
				return nil
			}
		}(), want: []string{"DATA 1 (8 bytes)", "DATA 2 (8 bytes)", "DATA 3 (8 bytes)", "DATA 4 (8 bytes)",
			"DATA 2 (8 bytes)", "DATA 3 (8 bytes)", "DATA 4 (8 bytes)", "DATA 5 (5 bytes)"}},
		// Every ACK arrives twice: the second must not resend anything
		// (the Sorcerer's Apprentice would double each later packet).
		"duplicate acks ignored": {window: 1, client: func(p packet) [][]byte {
			return [][]byte{ack(uint16(p.block())), ack(uint16(p.block()))}
		}, want: []string{"DATA 1 (8 bytes)", "DATA 2 (8 bytes)", "DATA 3 (8 bytes)", "DATA 4 (8 bytes)", "DATA 5 (5 bytes)"}},
		// ACKs outside the window and for blocks never sent, then garbage,
		// then the right ACK: only the right one counts.
		"bad acks ignored": {window: 2, client: func(p packet) [][]byte {
			if p.block()%2 == 1 && p.block() != 5 {
				return nil
			}
			b := uint16(p.block())
			return [][]byte{ack(b + 1), ack(b + 100), ack(b - 3), {0, 4}, {0, 3, 0, 1, 'x'}, ack(b)}
		}, want: []string{"DATA 1 (8 bytes)", "DATA 2 (8 bytes)", "DATA 3 (8 bytes)", "DATA 4 (8 bytes)", "DATA 5 (5 bytes)"}},
		"silent client": {window: 2, retransmits: 4, client: func(packet) [][]byte { return nil },
			want: []string{"DATA 1 (8 bytes)", "DATA 2 (8 bytes)", "DATA 1 (8 bytes)", "DATA 2 (8 bytes)", "DATA 1 (8 bytes)", "DATA 2 (8 bytes)"},
			err:  "block 1: no ACK after 2 retransmissions: timed out waiting for the client"},
		"size probe": {window: 4, oack: true, client: func(packet) [][]byte { return [][]byte{errorPacket(8, "abort")} },
			want: []string{"OACK blksize=8"}, err: `client sent error 8 "abort"`},
		"client error mid-transfer": {window: 1, client: func(p packet) [][]byte {
			if p.block() == 2 {
				return [][]byte{errorPacket(0, "disk full")}
			}
			return [][]byte{ack(uint16(p.block()))}
		}, want: []string{"DATA 1 (8 bytes)", "DATA 2 (8 bytes)"}, err: `client sent error 0 "disk full"`},
	}
}

// senderCase is one of TestSender's cases.
type senderCase struct {
	window      int
	oack        bool
	client      func(packet) [][]byte
	want        []string
	retransmits int
	err         string
}

// testSender runs one TestSender case, sending batches of at most batch
// DATA packets (1: packet by packet, through an endpoint without
// sendBatch).
func testSender(t *testing.T, file []byte, blk, batch int, tc senderCase) {
	bc := &batchConn{scriptConn: scriptConn{client: tc.client}}
	var ep endpoint = bc
	if batch == 1 {
		ep = &bc.scriptConn
	}
	s := &sender{ep: ep, r: bytes.NewReader(file), size: int64(len(file)), blksize: blk, window: tc.window,
		timeout: time.Second, retries: 2, pkt: make([]byte, batch*(blk+4)), rb: make([]byte, 516), batch: batch}
	if tc.oack {
		s.oack = []option{{name: "blksize", key: "blksize", value: "8"}}
	}
	err := s.run()
	if got := fmt.Sprint(err); (tc.err == "" && err != nil) || (tc.err != "" && got != tc.err) {
		t.Errorf("err = %v, want %q", err, tc.err)
	}
	if diff := cmp.Diff(tc.want, bc.sent); diff != "" {
		t.Errorf("packets (-want +got):\n%s", diff)
	}
	if s.retransmits != tc.retransmits {
		t.Errorf("retransmits = %d, want %d", s.retransmits, tc.retransmits)
	}
	if err == nil && s.bytes() != int64(len(file)) {
		t.Errorf("bytes = %d, want %d", s.bytes(), len(file))
	}
	for _, n := range bc.batches {
		if n < 1 || n > batch {
			t.Errorf("batches of %v packets, want 1 to %d", bc.batches, batch)
			break
		}
	}
	if batch > 1 && tc.window > 1 && len(bc.batches) == 0 && len(bc.sent) > 1 {
		t.Errorf("no batch sent for a window of %d", tc.window)
	}
}

// TestSenderRollover: past block 65535 the block number goes on from 0,
// and ACKs across the wrap are matched to the right window.
func TestSenderRollover(t *testing.T) {
	for _, w := range []int{1, 7, 64} {
		t.Run(fmt.Sprintf("window %d", w), func(t *testing.T) {
			const blk = 8
			file := make([]byte, 70000*blk+3)
			for i := range file {
				file[i] = byte(i / blk)
			}
			var got bytes.Buffer
			var numbers []int
			client := windowClient(w, blk, nil)
			c := &scriptConn{client: func(p packet) [][]byte {
				if b := p.block(); b >= 65534 || b <= 1 {
					numbers = append(numbers, b)
				}
				got.Write(p[4:])
				return client(p)
			}}
			s := &sender{ep: c, r: bytes.NewReader(file), size: int64(len(file)), blksize: blk, window: w,
				timeout: time.Second, retries: 2, pkt: make([]byte, blk+4), rb: make([]byte, 516)}
			if err := s.run(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), file) || s.retransmits != 0 {
				t.Errorf("got %d bytes (want %d), %d retransmits", got.Len(), len(file), s.retransmits)
			}
			if diff := cmp.Diff([]int{1, 65534, 65535, 0, 1}, numbers); diff != "" {
				t.Errorf("block numbers around the wrap (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSenderShrunkFile: a file cut short while it is sent fails the
// transfer with a read error, not a short last block.
func TestSenderShrunkFile(t *testing.T) {
	c := &scriptConn{client: func(p packet) [][]byte { return [][]byte{ack(uint16(p.block()))} }}
	s := &sender{ep: c, r: bytes.NewReader(make([]byte, 10)), size: 20, blksize: 8, window: 1,
		timeout: time.Second, retries: 2, pkt: make([]byte, 12), rb: make([]byte, 516)}
	err := s.run()
	if !errors.Is(err, errReadFile) {
		t.Errorf("err = %v, want a read error", err)
	}
	if diff := cmp.Diff([]string{"DATA 1 (8 bytes)"}, c.sent); diff != "" {
		t.Errorf("packets (-want +got):\n%s", diff)
	}
}
