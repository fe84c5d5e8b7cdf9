package tftpboot

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recvAll collects what arrives within d, as strings.
func (c *rawClient) recvAll(d time.Duration) []string {
	var got []string
	for deadline := time.Now().Add(d); ; {
		p, _ := c.recv(time.Until(deadline))
		if p == nil {
			return got
		}
		got = append(got, p.String())
	}
}

// TestBadACKs: duplicate ACKs, ACKs outside the window and for blocks
// never sent change nothing: no packet is sent for them (only a timeout
// resends), the transfer completes, and nothing counts as retransmitted.
func TestBadACKs(t *testing.T) {
	logs := &syncBuffer{}
	_, files, want := userRoot(t)
	srv := &Server{Files: files, Timeout: 2 * time.Second, Logger: jsonLogger(logs)}
	addr := startServer(t, srv)
	c := newRawClient(t)
	c.send(addr, reqPacket(opRRQ, "odd.bin", "blksize", "1468", "windowsize", "2"))
	p, from := c.recv(2 * time.Second)
	if p.String() != "OACK blksize=1468 windowsize=2" {
		t.Fatalf("got %v", p)
	}
	c.send(from, ack(0))
	c.send(from, ack(0)) // duplicate of the OACK's ACK
	got := c.recvAll(300 * time.Millisecond)
	c.send(from, ack(2))
	for _, b := range []uint16{2, 2, 1, 0, 9, 40000, 65535} { // duplicates, old, never sent
		c.send(from, ack(b))
	}
	got = append(got, c.recvAll(300*time.Millisecond)...)
	c.send(from, ack(4))
	c.send(from, ack(4))
	wantPkts := []string{"DATA 1 (1468 bytes)", "DATA 2 (1468 bytes)", "DATA 3 (1468 bytes)", "DATA 4 (7 bytes)"}
	if diff := cmp.Diff(wantPkts, got); diff != "" {
		t.Errorf("packets (-want +got):\n%s", diff)
	}
	rec := waitRecord(t, logs, "tftp transfer", "odd.bin")
	if rec["outcome"] != OutcomeOK || rec["retransmits"] != float64(0) || rec["bytes"] != float64(len(want["odd.bin"])) {
		t.Errorf("log record %v, want ok with no retransmits", rec)
	}
	if st := waitStats(srv, func(s Stats) bool { return s.Active == 0 }); st.Active != 0 || st.Retransmits != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestRepeatedRequest: a client that sends its request again from the
// same port while its transfer runs (its first DATA was slow) gets no
// second transfer; the repeat is dropped and counted.
func TestRepeatedRequest(t *testing.T) {
	for _, single := range []bool{false, true} {
		_, files, _ := userRoot(t)
		srv := &Server{Files: files, SinglePort: single}
		addr := startServer(t, srv)
		c, from := startTransfer(t, addr)
		c.send(addr, reqPacket(opRRQ, "sub/dir/1mib.bin"))
		c.send(addr, reqPacket(opRRQ, "odd.bin"))
		if got := c.recvAll(300 * time.Millisecond); len(got) != 0 {
			t.Errorf("single port %v: repeated requests answered: %v", single, got)
		}
		if st := srv.Stats(); st.Dropped != 2 || st.Active != 1 {
			t.Errorf("single port %v: Stats = %+v, want 2 dropped, 1 active", single, st)
		}
		finishTransfer(t, c, from)
		if st := waitStats(srv, func(s Stats) bool { return s.Sent == 1 && s.Active == 0 }); st.Sent != 1 || st.Active != 0 {
			t.Errorf("single port %v: Stats = %+v after the transfer", single, st)
		}
	}
}

// TestMalformedDatagrams: datagrams on the listening port that are not
// requests get no answer, are counted, and leave the server serving.
func TestMalformedDatagrams(t *testing.T) {
	addr, want, srv := userServer(t)
	c := newRawClient(t)
	bad := [][]byte{{}, {0}, {0, 1}, {0, 1, 'a'}, []byte("\x00\x01name-without-nul"), []byte("\x00\x01a\x00octet"),
		ack(1), {0, opDATA, 0, 1, 'x'}, errorPacket(0, "hi"), {0, 9, 0, 0}, make([]byte, 65507)}
	for _, p := range bad {
		c.send(addr, p)
	}
	if got := c.recvAll(300 * time.Millisecond); len(got) != 0 {
		t.Errorf("answers to malformed datagrams: %v", got)
	}
	if st := srv.Stats(); st.Dropped != uint64(len(bad)) {
		t.Errorf("Dropped = %d, want %d", st.Dropped, len(bad))
	}
	got, _, err := winFetch(t, addr, "odd.bin")
	if err != nil || !bytes.Equal(got, want["odd.bin"]) {
		t.Errorf("fetch after malformed datagrams: %d bytes, %v", len(got), err)
	}
}

// TestOddNames: an empty name, a name whose NUL ends it early (so the
// rest is read as the mode), and modes other than octet.
func TestOddNames(t *testing.T) {
	addr, _, srv := userServer(t)
	tests := map[string]struct {
		pkt  []byte
		want string
	}{
		"empty name":          {reqPacket(opRRQ, ""), "ERROR 2 access violation"},
		"only a slash":        {reqPacket(opRRQ, "/"), "ERROR 2 access violation"},
		"NUL inside the name": {[]byte("\x00\x01odd.bin\x00.efi\x00octet\x00"), "ERROR 4 only octet mode is served"},
		"netascii":            {[]byte("\x00\x01odd.bin\x00netascii\x00"), "ERROR 4 only octet mode is served"},
		"mail":                {[]byte("\x00\x01odd.bin\x00mail\x00"), "ERROR 4 only octet mode is served"},
		"OCTET in capitals":   {[]byte("\x00\x01odd.bin\x00OCTET\x00"), "DATA 1 (512 bytes)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := newRawClient(t)
			c.send(addr, tc.pkt)
			p, from := c.recv(2 * time.Second)
			if p.String() != tc.want {
				t.Errorf("got %v, want %s", p, tc.want)
			}
			if p != nil && p[1] == opDATA {
				c.send(from, errorPacket(0, "enough"))
			}
		})
	}
	if st := waitStats(srv, func(s Stats) bool { return s.Active == 0 }); st.Refused != 5 {
		t.Errorf("Stats = %+v, want 5 refused", st)
	}
}

// TestFileReplacedDuringTransfer: the size the OACK announced and the
// bytes sent are those of the file opened, even if it is replaced by a
// rename meanwhile; a file cut short in place fails the transfer with
// an error to the client instead of a short file.
func TestFileReplacedDuringTransfer(t *testing.T) {
	dir, files, want := userRoot(t)
	logs := &syncBuffer{}
	srv := &Server{Files: files, Logger: jsonLogger(logs)}
	addr := startServer(t, srv)
	name := filepath.Join(dir, "sub/dir/1mib.bin")

	c := newRawClient(t)
	c.send(addr, reqPacket(opRRQ, "sub/dir/1mib.bin", "tsize", "0", "blksize", "1468"))
	p, from := c.recv(2 * time.Second)
	if p.String() != "OACK blksize=1468 tsize=1048576" {
		t.Fatalf("got %v", p)
	}
	writeFile(t, name+".new", []byte("replaced"))
	if err := os.Rename(name+".new", name); err != nil {
		t.Fatal(err)
	}
	var got []byte
	c.send(from, ack(0))
	for {
		p, _ := c.recv(2 * time.Second)
		if p == nil || p[1] != opDATA {
			t.Fatalf("got %v", p)
		}
		got = append(got, p[4:]...)
		c.send(from, ack(uint16(p.block())))
		if len(p) < 1472 {
			break
		}
	}
	if !bytes.Equal(got, want["sub/dir/1mib.bin"]) {
		t.Errorf("got %d bytes, not the %d of the file opened", len(got), len(want["sub/dir/1mib.bin"]))
	}

	writeFile(t, filepath.Join(dir, "odd.bin"), want["odd.bin"])
	c = newRawClient(t)
	c.send(addr, reqPacket(opRRQ, "odd.bin", "blksize", "1468"))
	p, from = c.recv(2 * time.Second)
	if err := os.Truncate(filepath.Join(dir, "odd.bin"), 100); err != nil {
		t.Fatal(err)
	}
	c.send(from, ack(0))
	if p, _ = c.recv(2 * time.Second); p.String() != "ERROR 0 cannot read file" {
		t.Errorf("after truncation got %v, want ERROR 0 cannot read file", p)
	}
	if rec := waitRecord(t, logs, "tftp transfer", "odd.bin"); rec["outcome"] != OutcomeFailed {
		t.Errorf("log record %v, want failed", rec)
	}
}

// TestVanishedMidWindow: a client that stops answering in the middle of
// a window of 8 gets the window resent Retries times, then the transfer
// fails, is logged with its retransmissions, and frees its slot.
func TestVanishedMidWindow(t *testing.T) {
	_, files, _ := userRoot(t)
	logs := &syncBuffer{}
	srv := &Server{Files: files, MaxTransfers: 1, Timeout: 200 * time.Millisecond, Retries: 2, Logger: jsonLogger(logs)}
	addr := startServer(t, srv)
	c := newRawClient(t)
	c.send(addr, reqPacket(opRRQ, "sub/dir/1mib.bin", "windowsize", "8"))
	p, from := c.recv(2 * time.Second)
	c.send(from, ack(0))
	if p.String() != "OACK windowsize=8" {
		t.Fatalf("got %v", p)
	}
	c.recv(2 * time.Second) // DATA 1, then silence
	st := waitStats(srv, func(s Stats) bool { return s.Active == 0 })
	if st.Failed != 1 || st.Retransmits != 16 {
		t.Errorf("Stats = %+v, want 1 failed, 16 retransmits (a window of 8, twice)", st)
	}
	rec := waitRecord(t, logs, "tftp transfer", "sub/dir/1mib.bin")
	if rec["outcome"] != OutcomeFailed || rec["retransmits"] != float64(16) || rec["windowsize"] != float64(8) {
		t.Errorf("log record %v", rec)
	}
	if _, _, err := winFetch(t, addr, "odd.bin"); err != nil {
		t.Errorf("slot not freed: %v", err)
	}
}
