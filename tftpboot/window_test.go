package tftpboot

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// winFetch fetches name from addr packet by packet as an RFC 7440 client:
// it asks for opts, acknowledges the OACK, then the last block of every
// window and the short last block; on a block out of order it
// acknowledges the last one it has in order, so that the server goes on
// after it (RFC 7440 section 4). It returns the content and the OACK's
// options (nil without an OACK).
func winFetch(t testing.TB, addr, name string, opts ...string) ([]byte, map[string]string, error) {
	t.Helper()
	c := newRawClient(t)
	c.send(addr, reqPacket(opRRQ, name, opts...))
	blk, win := 512, 1
	var oack map[string]string
	var got bytes.Buffer
	for n := 0; ; {
		p, from := c.recv(5 * time.Second)
		if p == nil {
			return got.Bytes(), oack, fmt.Errorf("no packet after block %d", n)
		}
		switch binary.BigEndian.Uint16(p) {
		case opOACK:
			oack = map[string]string{}
			f := strings.Split(string(p[2:]), "\x00")
			for i := 0; i+1 < len(f); i += 2 {
				oack[strings.ToLower(f[i])] = f[i+1]
			}
			if v, ok := oack["blksize"]; ok {
				blk, _ = strconv.Atoi(v)
			}
			if v, ok := oack["windowsize"]; ok {
				win, _ = strconv.Atoi(v)
			}
			c.send(from, ack(0))
		case opDATA:
			if p.block() != int(uint16(n+1)) {
				c.send(from, ack(uint16(n)))
				continue
			}
			n++
			got.Write(p[4:])
			if len(p)-4 < blk {
				c.send(from, ack(uint16(n)))
				return got.Bytes(), oack, nil
			}
			if n%win == 0 {
				c.send(from, ack(uint16(n)))
			}
		default:
			return got.Bytes(), oack, fmt.Errorf("got %v", p)
		}
	}
}

// TestLoopbackOptions fetches each user file over loopback with each
// combination of options a client may ask, in both port modes, and
// checks the bytes, the OACK and the log record.
func TestLoopbackOptions(t *testing.T) {
	_, files, want := userRoot(t)
	optSets := [][]string{
		nil,
		{"tsize", "0"},
		{"blksize", "1468"},
		{"blksize", "1468", "tsize", "0"},
		{"windowsize", "4"},
		{"windowsize", "16", "blksize", "1468", "tsize", "0"},
		{"windowsize", "64", "blksize", "65464"},
		{"timeout", "2", "windowsize", "8", "blksize", "8192"},
		{"BLKSIZE", "1024", "WINDOWSIZE", "2", "TSIZE", "0"},
	}
	for _, tp := range transferPaths {
		logs := &syncBuffer{}
		addr := startServer(t, tp.with(&Server{Files: files, Logger: jsonLogger(logs)}))
		for _, opts := range optSets {
			for name, content := range want {
				t.Run(fmt.Sprintf("%s/%v/%s", tp.name, opts, name), func(t *testing.T) {
					got, oack, err := winFetch(t, addr, name, opts...)
					if err != nil || !bytes.Equal(got, content) {
						t.Fatalf("%d bytes, %v; want %d identical bytes", len(got), err, len(content))
					}
					if diff := cmp.Diff(wantOACK(opts, len(content)), oack); diff != "" {
						t.Errorf("OACK (-want +got):\n%s", diff)
					}
				})
			}
		}
		rec := waitRecord(t, logs, "tftp transfer", "sub/dir/1mib.bin")
		if rec["outcome"] != OutcomeOK {
			t.Errorf("log record %v", rec)
		}
	}
}

// wantOACK is what this server acknowledges of opts on loopback, for a
// file of size bytes, with the default MaxWindowSize.
func wantOACK(opts []string, size int) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(opts); i += 2 {
		k, v := strings.ToLower(opts[i]), opts[i+1]
		switch k {
		case "tsize":
			if size > 0 {
				m[k] = strconv.Itoa(size)
			}
		case "windowsize":
			n, _ := strconv.Atoi(v)
			m[k] = strconv.Itoa(min(n, DefaultMaxWindowSize))
		default:
			m[k] = v
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// TestLoopbackRollover fetches a file of more than 65535 blocks at
// blksize 512 (33.6 MB, made in a temp dir), windowsize 16, so block
// numbers wrap past 65535 to 0 on a real socket.
func TestLoopbackRollover(t *testing.T) {
	if testing.Short() {
		t.Skip("33.6 MB transfer")
	}
	dir := t.TempDir()
	content := make([]byte, 65600*512+100)
	for i := range content {
		content[i] = byte(i*7 + i/512)
	}
	writeFile(t, dir+"/big.bin", content)
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	addr := startServer(t, &Server{Files: files, Logger: jsonLogger(logs)})
	got, _, err := winFetch(t, addr, "big.bin", "windowsize", "16", "tsize", "0")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("%d bytes, %v; want %d identical bytes", len(got), err, len(content))
	}
	rec := waitRecord(t, logs, "tftp transfer", "big.bin")
	if rec["outcome"] != OutcomeOK || rec["bytes"] != float64(len(content)) || rec["blksize"] != float64(512) {
		t.Errorf("log record %v", rec)
	}
}
