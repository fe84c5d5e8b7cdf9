package tftpboot

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// rawClient speaks TFTP packet by packet, to check what is on the wire.
type rawClient struct {
	t    testing.TB
	conn *net.UDPConn
}

// newRawClient returns a client on a random 127.0.0.1 port.
func newRawClient(t testing.TB) *rawClient {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{t: t, conn: conn}
}

// send writes pkt to addr.
func (c *rawClient) send(addr string, pkt []byte) {
	c.t.Helper()
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.WriteToUDP(pkt, a); err != nil {
		c.t.Fatal(err)
	}
}

// recv reads one packet, or returns nil after timeout.
func (c *rawClient) recv(timeout time.Duration) (packet, string) {
	c.t.Helper()
	buf := make([]byte, 65536)
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	n, from, err := c.conn.ReadFromUDP(buf)
	if isTimeout(err) {
		return nil, ""
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return packet(buf[:n]), from.String()
}

// request builds an RRQ or WRQ with options given as name, value pairs.
func reqPacket(op uint16, name string, opts ...string) []byte {
	b := binary.BigEndian.AppendUint16(nil, op)
	for _, s := range append([]string{name, "octet"}, opts...) {
		b = append(append(b, s...), 0)
	}
	return b
}

// ack builds an ACK for block.
func ack(block uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, opACK), block)
}

// packet is a received TFTP packet.
type packet []byte

// String describes p for comparisons: "DATA 1 (512 bytes)",
// "OACK blksize=1468 tsize=512" (options sorted) or
// "ERROR 2 access violation".
func (p packet) String() string {
	if len(p) < 4 {
		return fmt.Sprintf("short packet %x", []byte(p))
	}
	op, arg := binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:])
	switch op {
	case opDATA:
		return fmt.Sprintf("DATA %d (%d bytes)", arg, len(p)-4)
	case opERROR:
		return fmt.Sprintf("ERROR %d %s", arg, strings.TrimSuffix(string(p[4:]), "\x00"))
	case opOACK:
		f := strings.Split(strings.TrimSuffix(string(p[2:]), "\x00"), "\x00")
		var kv []string
		for i := 0; i+1 < len(f); i += 2 {
			kv = append(kv, f[i]+"="+f[i+1])
		}
		slices.Sort(kv)
		return "OACK " + strings.Join(kv, " ")
	}
	return fmt.Sprintf("opcode %d", op)
}

// waitRecord polls buf for the JSON log record with msg and file and
// returns it.
func waitRecord(t testing.TB, buf *syncBuffer, msg, file string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, line := range bytes.Split([]byte(buf.String()), []byte("\n")) {
			var rec map[string]any
			if json.Unmarshal(line, &rec) == nil && rec["msg"] == msg && rec["file"] == file {
				return rec
			}
		}
	}
	t.Fatalf("no %q log record for %q in:\n%s", msg, file, buf.String())
	return nil
}

// TestSizeProbeIsNotAFailure replays what OVMF does before each NBP
// download: ask for tsize, then end the transfer with error 8 after the
// OACK. It must be logged as a size probe, not counted as a failure.
func TestSizeProbeIsNotAFailure(t *testing.T) {
	logs := &syncBuffer{}
	srv := &Server{Logger: jsonLogger(logs)}
	addr := startServer(t, srv)
	c := newRawClient(t)
	c.send(addr, reqPacket(opRRQ, hw.NBPSnponly, "tsize", "0", "blksize", "1468"))
	oack, from := c.recv(5 * time.Second)
	if want := fmt.Sprintf("OACK blksize=1468 tsize=%d", len(embedded(t, hw.NBPSnponly))); oack.String() != want {
		t.Fatalf("got %v, want %s", oack, want)
	}
	abort := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, opERROR), 8)
	c.send(from, append(abort, "User aborted the transfer\x00"...))
	rec := waitRecord(t, logs, "tftp transfer", hw.NBPSnponly)
	if rec["outcome"] != OutcomeSizeProbe || rec["level"] != "DEBUG" {
		t.Errorf("log record %v, want outcome %q at DEBUG", rec, OutcomeSizeProbe)
	}
	if st := srv.Stats(); st.Failed != 0 || st.SizeProbes != 1 {
		t.Errorf("Stats = %+v, want one size probe and no failures", st)
	}
}

// TestOnTransfer checks the hook hears about finished transfers, not
// size probes.
func TestOnTransfer(t *testing.T) {
	got := make(chan Transfer, 4)
	srv := &Server{OnTransfer: func(tr Transfer) { got <- tr }}
	addr := startServer(t, srv)
	c := newRawClient(t)
	c.send(addr, reqPacket(opRRQ, "nope.bin"))
	c.recv(5 * time.Second)
	select {
	case tr := <-got:
		if tr.File != "nope.bin" || tr.Outcome != OutcomeNotFound || !tr.Peer.IsValid() {
			t.Errorf("transfer %+v, want nope.bin not found from a peer", tr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnTransfer not called")
	}
}
