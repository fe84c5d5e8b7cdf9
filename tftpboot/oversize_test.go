package tftpboot

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// TestOversizedDatagram: a datagram from the client far larger than any
// ACK, in the middle of a transfer, is ignored and the transfer
// completes. In single-port mode it arrives through the listening socket
// (pin/tftp panicked on it and ended the process); otherwise on the
// transfer's own socket, whose reads take 516 bytes.
func TestOversizedDatagram(t *testing.T) {
	for _, tp := range transferPaths {
		t.Run(tp.name, func(t *testing.T) { testOversized(t, tp) })
	}
}

func testOversized(t *testing.T, tp transferPath) {
	addr := startServer(t, tp.with(&Server{}))
	c := newRawClient(t)
	c.send(addr, reqPacket(opRRQ, hw.NBPSnponly))
	var got []byte
	for block := uint16(1); ; block++ {
		p, from := c.recv(5 * time.Second)
		if p == nil || binary.BigEndian.Uint16(p) != opDATA || binary.BigEndian.Uint16(p[2:]) != block {
			t.Fatalf("block %d: got %v", block, p)
		}
		got = append(got, p[4:]...)
		if block == 1 {
			c.send(from, make([]byte, 8000))
		}
		c.send(from, ack(block))
		if len(p) < 516 {
			break
		}
	}
	if !bytes.Equal(got, embedded(t, hw.NBPSnponly)) {
		t.Errorf("got %d bytes, not the embedded %s", len(got), hw.NBPSnponly)
	}
}

// TestLongRequests sends requests longer than the 516 bytes of a DATA
// packet, in both port modes. A name over 512 bytes, up to a 65 KB
// datagram, gets TFTP error 2 at once, not silence (pin/tftp read
// requests into 516 bytes and dropped them unanswered); a shorter name
// whose options carry the request past 516 bytes gets its options.
func TestLongRequests(t *testing.T) {
	dir := t.TempDir()
	// 493 bytes in three elements, each under NAME_MAX.
	long := strings.Repeat("a", 200) + "/" + strings.Repeat("b", 200) + "/" + strings.Repeat("c", 91)
	writeFile(t, filepath.Join(dir, long), []byte("long name\n"))
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	// path returns a name of n bytes of one-letter elements ("a/a/.../b"),
	// which no file system refuses as too long before it is looked up.
	path := func(n int) string { return strings.Repeat("a/", (n-1)/2) + strings.Repeat("b", 2-n%2) }
	tests := map[string]struct {
		op   uint16
		name string
		want string
	}{
		"513 bytes":           {opRRQ, path(513), "ERROR 2 access violation"},
		"1400 bytes":          {opRRQ, path(1400), "ERROR 2 access violation"},
		"8000 bytes":          {opRRQ, path(8000), "ERROR 2 access violation"},
		"65000 bytes":         {opRRQ, path(65000), "ERROR 2 access violation"},
		"8000 bytes, write":   {opWRQ, path(8000), "ERROR 2 write requests are refused"},
		"512 bytes, missing":  {opRRQ, path(512), "ERROR 1 file not found"},
		"493 bytes + options": {opRRQ, long, "OACK blksize=1024 tsize=10"},
	}
	for _, tp := range transferPaths {
		logs := &syncBuffer{}
		srv := tp.with(&Server{Files: files, Logger: jsonLogger(logs)})
		addr := startServer(t, srv)
		for name, tc := range tests {
			t.Run(fmt.Sprintf("%s, %s", name, tp.name), func(t *testing.T) {
				c := newRawClient(t)
				c.send(addr, reqPacket(tc.op, tc.name, "blksize", "1024", "tsize", "0"))
				got, from := c.recv(5 * time.Second)
				if got == nil || got.String() != tc.want {
					t.Errorf("got %v, want %s", got, tc.want)
				}
				if got != nil && binary.BigEndian.Uint16(got) == opOACK {
					c.send(from, append(binary.BigEndian.AppendUint16([]byte{0, opERROR}, 8), "done\x00"...))
				}
			})
		}
		// The log shows the start of a long name and its length.
		waitRecord(t, logs, "tftp transfer", path(8000)[:64]+"... (8000 bytes)")
	}
}
