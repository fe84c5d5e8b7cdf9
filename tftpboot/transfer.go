package tftpboot

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/pin/tftp/v3"
)

// TFTP error codes this package sends itself (RFC 1350, section 5).
// pin/tftp sends code 1, "file not found", for every other error.
const (
	codeNotDefined      = 0
	codeAccessViolation = 2
)

// Messages put in TFTP ERROR packets; details go to the log only.
var (
	errWireNotFound = errors.New("file not found")
	errWireAccess   = errors.New("access violation")
	errWireRead     = errors.New("cannot read file")
	errWireRender   = errors.New("cannot render file")
	errWireWrite    = errors.New("write requests are refused")
	errWireShutdown = errors.New("server shutting down")
	errWireBusy     = errors.New("server busy, try again later")
	errWriteRequest = fmt.Errorf("%w: write request", ErrAccessViolation)
	errNotRegular   = fmt.Errorf("%w: not a regular file", ErrAccessViolation)
	errRender       = errors.New("render")
)

// transferInfo is what the hook learns about a transfer for its log line.
// It is keyed by the peer's address; should a client retransmit its
// request and start two transfers from one port, one log line may show
// the default blksize.
type transferInfo struct {
	blksize     string
	retransmits int
}

// handleRead is pin/tftp's read handler: it sends the file named raw and
// logs and counts the outcome. An error it returns makes pin/tftp send
// TFTP error 1 with the error's text, unless the transfer already failed.
func (s *Server) handleRead(raw string, rf io.ReaderFrom) error {
	start := time.Now()
	peer := remoteAddr(rf)
	key := peer.String()
	log := s.logger().With("peer", key, "file", raw)
	if err := s.enter(); err != nil {
		s.stats.count(OutcomeBusy)
		log.Info("tftp transfer", "outcome", OutcomeBusy, "err", err)
		s.sendError(rf, peer, codeNotDefined, err.Error())
		return err
	}
	defer s.leave()
	info := &transferInfo{blksize: "512"} // RFC 1350 default
	s.pending.Store(key, info)
	defer s.pending.Delete(key)

	n, rendered, err := s.send(raw, rf, peer)
	s.stats.bytes.Add(uint64(n))
	s.stats.retransmits.Add(uint64(info.retransmits))
	outcome, wire := outcomeOf(n, err)
	s.stats.count(outcome)
	attrs := []any{"outcome", outcome, "bytes", n, "duration", time.Since(start),
		"blksize", info.blksize, "retransmits", info.retransmits}
	if rendered {
		attrs = append(attrs, "rendered", true)
	}
	if err != nil && outcome != OutcomeSizeProbe {
		attrs = append(attrs, "err", err)
	}
	level := slog.LevelInfo
	if outcome == OutcomeSizeProbe {
		level = slog.LevelDebug
	}
	log.Log(context.Background(), level, "tftp transfer", attrs...)
	if s.OnTransfer != nil && outcome != OutcomeSizeProbe {
		s.OnTransfer(Transfer{Peer: peer.AddrPort(), File: raw, Bytes: n, Duration: time.Since(start), Outcome: outcome, Rendered: rendered})
	}
	if outcome == OutcomeRefused {
		s.sendError(rf, peer, codeAccessViolation, errWireAccess.Error())
	}
	return wire
}

// Transfer is what OnTransfer is told about a finished read request.
type Transfer struct {
	Peer     netip.AddrPort
	File     string // as the client asked for it
	Bytes    int64
	Duration time.Duration
	Outcome  string // OutcomeOK, OutcomeNotFound, OutcomeRefused, ...
	Rendered bool   // made by Render, not read from Files
}

// enter takes a transfer slot, or says why there is none.
func (s *Server) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errWireShutdown
	}
	if m := s.MaxTransfers; m > 0 && s.stats.active.Load() >= int64(m) {
		return errWireBusy
	}
	s.stats.active.Add(1)
	s.inflight.Add(1)
	return nil
}

// leave gives back the slot enter took.
func (s *Server) leave() {
	s.stats.active.Add(-1)
	s.inflight.Done()
}

// outcomeOf classifies a transfer's result and picks the error pin/tftp
// puts on the wire (nil: none).
func outcomeOf(n int64, err error) (string, error) {
	var missing *MissingLoaderError
	switch {
	case err == nil:
		return OutcomeOK, nil
	case isSizeProbe(n, err):
		// UEFI PXE (OVMF, most firmware) asks for tsize, then ends the
		// transfer with error 8 (RFC 2347) and fetches the file again.
		return OutcomeSizeProbe, nil
	case errors.Is(err, ErrAccessViolation):
		return OutcomeRefused, errWireAccess
	case errors.As(err, &missing):
		return OutcomeNotFound, errors.New(missing.Wire())
	case errors.Is(err, fs.ErrNotExist):
		return OutcomeNotFound, errWireNotFound
	case errors.Is(err, errRender):
		return OutcomeFailed, errWireRender
	}
	return OutcomeFailed, errWireRead
}

// isSizeProbe reports whether a transfer ended because the client
// terminated it after option negotiation (TFTP error 8) before any data,
// as firmware does to learn a file's size. pin/tftp reports this only in
// its error text.
func isSizeProbe(n int64, err error) bool {
	return n == 0 && strings.Contains(err.Error(), "sending block 0: code=8,")
}

// send opens raw, rendered or from the files, and streams it to rf. It
// returns the bytes sent and whether the content was rendered.
func (s *Server) send(raw string, rf io.ReaderFrom, peer net.UDPAddr) (int64, bool, error) {
	name, err := cleanPath(raw)
	if err != nil {
		return 0, false, err
	}
	r, size, rendered, err := s.open(name, peer)
	if err != nil {
		return 0, rendered, err
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	if ot, ok := rf.(tftp.OutgoingTransfer); ok {
		// Used only if the client asked for tsize. In netascii mode the
		// bytes sent can differ from the file's size; boot clients use octet.
		ot.SetSize(size)
	}
	n, err := rf.ReadFrom(abortableReader{ctx: s.abort, r: r})
	if err != nil {
		return n, rendered, fmt.Errorf("send %s: %w", name, err)
	}
	return n, rendered, nil
}

// open returns the content for a cleaned name: what Render makes of it,
// else the file from s.files.
func (s *Server) open(name string, peer net.UDPAddr) (io.Reader, int64, bool, error) {
	if s.Render != nil {
		ip, _ := netip.AddrFromSlice(peer.IP)
		data, ok, err := s.Render(name, ip.Unmap())
		if err != nil {
			return nil, 0, true, fmt.Errorf("%w %s for %s: %w", errRender, name, ip.Unmap(), err)
		}
		if ok {
			return bytes.NewReader(data), int64(len(data)), true, nil
		}
	}
	f, size, err := openFile(s.files, name)
	if err != nil {
		return nil, 0, false, err
	}
	return f, size, false, nil
}

// openFile opens name in fsys and returns it with its size if it is a
// regular file.
func openFile(fsys fs.FS, name string) (fs.File, int64, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("open %s: %w", name, errNotRegular)
	}
	return f, fi.Size(), nil
}

// handleWrite is pin/tftp's write handler: it refuses every write request
// with TFTP error 2.
func (s *Server) handleWrite(raw string, wt io.WriterTo) error {
	peer := remoteAddr(wt)
	s.stats.writes.Add(1)
	s.logger().Info("tftp write refused", "peer", peer.String(), "file", raw, "err", errWriteRequest)
	s.sendError(wt, peer, codeAccessViolation, errWireWrite.Error())
	return errWireWrite
}

// sendError sends a TFTP ERROR packet with code to peer from a fresh
// port on the address the request arrived on. pin/tftp's own error
// packets always carry code 1, so for other codes the handler sends this
// one first; the client takes it as the server's reply and ignores the
// code-1 packet pin/tftp sends next from the transfer's port.
func (s *Server) sendError(t any, peer net.UDPAddr, code uint16, msg string) {
	local := &net.UDPAddr{}
	if pi, ok := t.(tftp.RequestPacketInfo); ok {
		local.IP = pi.LocalIP()
	}
	conn, err := net.DialUDP("udp", local, &peer)
	if err != nil {
		s.logger().Debug("tftp error packet", "peer", peer.String(), "err", err)
		return
	}
	defer conn.Close()
	pkt := binary.BigEndian.AppendUint16(nil, 5) // opcode ERROR
	pkt = binary.BigEndian.AppendUint16(pkt, code)
	pkt = append(append(pkt, msg...), 0)
	if _, err := conn.Write(pkt); err != nil {
		s.logger().Debug("tftp error packet", "peer", peer.String(), "err", err)
	}
}

// remoteAddr returns the peer of a pin/tftp transfer.
func remoteAddr(t any) net.UDPAddr {
	switch t := t.(type) {
	case tftp.OutgoingTransfer:
		return t.RemoteAddr()
	case tftp.IncomingTransfer:
		return t.RemoteAddr()
	}
	return net.UDPAddr{}
}

// abortableReader fails once ctx is cancelled, so that Shutdown can end a
// transfer between two blocks.
type abortableReader struct {
	ctx context.Context
	r   io.Reader
}

// Read implements io.Reader.
func (a abortableReader) Read(p []byte) (int, error) {
	if a.ctx.Err() != nil {
		return 0, errWireShutdown
	}
	return a.r.Read(p)
}
