package tftpboot

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
	"github.com/pin/tftp/v3"
)

// fetch downloads name with pin/tftp's client and returns the content
// and the tsize the server announced (-1 if none).
func fetch(addr, name string, blksize int) ([]byte, int64, error) {
	c, err := tftp.NewClient(addr)
	if err != nil {
		return nil, -1, err
	}
	c.SetTimeout(5 * time.Second) // generous: CI machines are shared
	c.SetRetries(3)
	c.SetBlockSize(blksize)
	c.RequestTSize(true)
	wt, err := c.Receive(name, "octet")
	if err != nil {
		return nil, -1, err
	}
	tsize, ok := wt.(tftp.IncomingTransfer).Size()
	if !ok {
		tsize = -1
	}
	var buf bytes.Buffer
	_, err = wt.WriteTo(&buf)
	return buf.Bytes(), tsize, err
}

func TestPinClientNegotiation(t *testing.T) {
	dir, want := makeUserRoot(t)
	want[hw.NBPSnponly] = embedded(t, hw.NBPSnponly)
	tests := map[string]struct {
		file         string
		blksize, max int
		wantBlksize  float64
	}{
		"1468":             {file: "sub/dir/1mib.bin", blksize: 1468, wantBlksize: 1468},
		"1468 nbp":         {file: hw.NBPSnponly, blksize: 1468, wantBlksize: 1468},
		"clamped to max":   {file: "sub/dir/1mib.bin", blksize: 1468, max: 1024, wantBlksize: 1024},
		"loopback maximum": {file: "sub/dir/1mib.bin", blksize: 65464, wantBlksize: 65464},
		"none requested":   {file: "odd.bin", wantBlksize: 512},
		"one block":        {file: "one-block.bin", blksize: 1468, wantBlksize: 1468},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			files, err := Files(dir)
			if err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			srv := &Server{Files: files, MaxBlockSize: tc.max, Logger: jsonLogger(&logs)}
			addr := startServer(t, srv)
			got, tsize, err := fetch(addr, tc.file, tc.blksize)
			if err != nil {
				t.Fatalf("fetch %s: %v", tc.file, err)
			}
			if !bytes.Equal(got, want[tc.file]) {
				t.Errorf("fetch %s: got %d bytes, want %d identical bytes", tc.file, len(got), len(want[tc.file]))
			}
			if tsize != int64(len(want[tc.file])) {
				t.Errorf("tsize = %d, want %d", tsize, len(want[tc.file]))
			}
			rec := waitRecord(t, &logs, "tftp transfer", tc.file)
			gotRec := map[string]any{"outcome": rec["outcome"], "blksize": rec["blksize"], "bytes": rec["bytes"]}
			wantRec := map[string]any{"outcome": "ok", "blksize": tc.wantBlksize, "bytes": float64(len(want[tc.file]))}
			if diff := cmp.Diff(wantRec, gotRec); diff != "" {
				t.Errorf("log record (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWireOptions(t *testing.T) {
	addr, _, _ := userServer(t)
	tests := map[string]struct {
		req  []byte
		want []string
	}{
		"blksize and tsize": {
			req:  reqPacket(opRRQ, "odd.bin", "blksize", "1468", "tsize", "0"),
			want: []string{"OACK blksize=1468 tsize=4411", "DATA 1 (1468 bytes)", "DATA 2 (1468 bytes)", "DATA 3 (1468 bytes)", "DATA 4 (7 bytes)"},
		},
		"tsize only": {
			req:  reqPacket(opRRQ, "one-block.bin", "tsize", "0"),
			want: []string{"OACK tsize=512", "DATA 1 (512 bytes)", "DATA 2 (0 bytes)"},
		},
		"no options": {
			req:  reqPacket(opRRQ, "one-block.bin"),
			want: []string{"DATA 1 (512 bytes)", "DATA 2 (0 bytes)"},
		},
		"unknown option dropped": {
			req:  reqPacket(opRRQ, "one-block.bin", "rollover", "0", "blksize", "600"),
			want: []string{"OACK blksize=600", "DATA 1 (512 bytes)"}, // a short block ends it
		},
		// curl fails a transfer whose OACK says tsize 0, so an empty
		// file's size is not announced; with no other option, no OACK.
		"empty file tsize": {
			req:  reqPacket(opRRQ, "empty.bin", "tsize", "0"),
			want: []string{"DATA 1 (0 bytes)"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := newRawClient(t)
			c.send(addr, tc.req)
			var got []string
			for range tc.want {
				p, from := c.recv(2 * time.Second)
				if p == nil {
					break
				}
				got = append(got, p.String())
				if p[1] == opOACK {
					c.send(from, ack(0))
				} else if p[1] == opDATA {
					c.send(from, ack(uint16(p[2])<<8|uint16(p[3])))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("packets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWireErrors(t *testing.T) {
	addr, _, _ := userServer(t)
	tests := map[string]struct {
		req  []byte
		want string
	}{
		"missing":           {reqPacket(opRRQ, "missing.bin", "blksize", "1468"), "ERROR 1 file not found"},
		"traversal":         {reqPacket(opRRQ, "../../etc/passwd"), "ERROR 2 access violation"},
		"rooted traversal":  {reqPacket(opRRQ, "/../etc/passwd"), "ERROR 2 access violation"},
		"directory":         {reqPacket(opRRQ, "sub/dir"), "ERROR 2 access violation"},
		"write":             {reqPacket(opWRQ, "new.bin"), "ERROR 2 write requests are refused"},
		"write over a file": {reqPacket(opWRQ, "odd.bin", "tsize", "10"), "ERROR 2 write requests are refused"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := newRawClient(t)
			c.send(addr, tc.req)
			p, _ := c.recv(2 * time.Second)
			if diff := cmp.Diff(tc.want, p.String()); diff != "" {
				t.Errorf("first reply (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPinClientErrorsAndStats(t *testing.T) {
	addr, want, srv := userServer(t)
	if _, _, err := fetch(addr, "odd.bin", 1468); err != nil {
		t.Fatal(err)
	}
	for file, code := range map[string]string{"missing.bin": "code: 1", `..\..\etc\passwd`: "code: 2"} {
		if _, _, err := fetch(addr, file, 1468); err == nil || !strings.Contains(err.Error(), code) {
			t.Errorf("fetch %q: err = %v, want %s", file, err, code)
		}
	}
	c, err := tftp.NewClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send("upload.bin", "octet"); err == nil || !strings.Contains(err.Error(), "code=2") {
		t.Errorf("Send: err = %v, want code=2", err)
	}
	wantStats := Stats{Sent: 1, NotFound: 1, Refused: 1, WritesRefused: 1, Bytes: uint64(len(want["odd.bin"]))}
	var got Stats
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = srv.Stats(); got == wantStats {
			break
		}
	}
	if diff := cmp.Diff(wantStats, got); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func TestConcurrentClients(t *testing.T) {
	addr, want, _ := userServer(t)
	const clients = 50
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			got, _, err := fetch(addr, "sub/dir/1mib.bin", 1468)
			if err == nil && !bytes.Equal(got, want["sub/dir/1mib.bin"]) {
				err = fmt.Errorf("got %d bytes, not the %d served", len(got), len(want["sub/dir/1mib.bin"]))
			}
			errs <- err
		})
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("50 concurrent transfers did not finish in 2 minutes")
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestRefusalIsOnePacket: a refused request gets one ERROR 2 from the
// transfer's own port (RFC 1350: a new transfer ID), and nothing after.
func TestRefusalIsOnePacket(t *testing.T) {
	addr, _, _ := userServer(t)
	c := newRawClient(t)
	c.send(addr, reqPacket(opRRQ, "../x"))
	first, from := c.recv(2 * time.Second)
	if got, want := first.String(), "ERROR 2 access violation"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if from == addr {
		t.Errorf("error came from the listening port %s", from)
	}
	if p, _ := c.recv(300 * time.Millisecond); p != nil {
		t.Errorf("a second packet followed: %v", p)
	}
}
