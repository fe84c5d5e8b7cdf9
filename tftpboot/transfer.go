package tftpboot

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"runtime"
	"time"
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
	errWireMode     = errors.New("only octet mode is served")
	errWriteRequest = fmt.Errorf("%w: write request", ErrAccessViolation)
	errNotRegular   = fmt.Errorf("%w: not a regular file", ErrAccessViolation)
	errRender       = errors.New("render")
	errMode         = errors.New("mode not served")
)

// Transfer is what OnTransfer is told about a finished read request.
type Transfer struct {
	Peer     netip.AddrPort
	File     string // as the client asked for it (a name over 512 bytes shortened, see Server)
	Bytes    int64
	Duration time.Duration
	Outcome  string // OutcomeOK, OutcomeNotFound, OutcomeRefused, ...
	Rendered bool   // made by Render, not read from Files
}

// accept takes a transfer slot for a read request and starts the
// transfer, or answers "server busy" (or "server shutting down") from the
// listening socket. A request from a client whose transfer from the same
// port is still running is dropped: it is a retransmission, and the
// transfer's own retransmissions answer it.
func (s *Server) accept(l *listener, req request, in inbound) {
	inbox, ok := l.add(in.peer)
	if !ok {
		s.stats.dropped.Add(1)
		s.logger().Debug("tftp packet dropped", "peer", in.peer.String(), "file", logName(req.name), "err", "request repeated during its transfer")
		return
	}
	if err := s.enter(); err != nil {
		l.remove(in.peer)
		s.stats.count(OutcomeBusy)
		s.logger().Info("tftp transfer", "peer", in.peer.String(), "file", logName(req.name), "outcome", OutcomeBusy, "err", err)
		l.writeTo(appendError(nil, codeNotDefined, err.Error()), l.sourceOOB(in), in.peer)
		return
	}
	go s.serveRead(l, req, in, inbox)
}

// refuseWrite answers a write request with TFTP error 2 from the
// listening socket, and counts and logs it.
func (s *Server) refuseWrite(l *listener, req request, in inbound) {
	s.stats.writes.Add(1)
	s.logger().Info("tftp write refused", "peer", in.peer.String(), "file", logName(req.name), "err", errWriteRequest)
	l.writeTo(appendError(nil, codeAccessViolation, errWireWrite.Error()), l.sourceOOB(in), in.peer)
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

// result is what a transfer did, for its log record.
type result struct {
	bytes       int64
	blksize     int
	window      int
	retransmits int
	rendered    bool
}

// serveRead runs one read transfer, then logs and counts it and frees
// its slot. Without SinglePort the goroutine locks itself to its OS
// thread, whose blocking reads on the transfer's socket sleep in the
// kernel (see fdConn), and never unlocks it, so the thread ends with
// the transfer.
func (s *Server) serveRead(l *listener, req request, in inbound, inbox chan []byte) {
	start := time.Now()
	defer s.leave()
	defer l.remove(in.peer)
	var ep endpoint
	var err error
	switch {
	case l.single:
		ep = newPortConn(l, in, inbox)
	case s.polledSocket():
		ep, err = dialPolled(in.local, in.ifindex, in.peer)
	default:
		runtime.LockOSThread()
		ep, err = dialFD(in.local, in.ifindex, in.peer)
	}
	res := result{blksize: defaultBlksize, window: 1}
	if err == nil {
		s.track(ep)
		res, err = s.sendFile(ep, req, in)
		s.untrack(ep)
		ep.close()
	} else {
		err = fmt.Errorf("transfer socket: %w", err)
	}
	s.finish(req, in, time.Since(start), res, err)
}

// sendFile checks and opens what req names and sends it over ep. Errors
// that the client should hear of are sent to it here.
func (s *Server) sendFile(ep endpoint, req request, in inbound) (result, error) {
	res := result{blksize: defaultBlksize, window: 1}
	name, err := cleanPath(req.name)
	if err == nil && req.mode != "octet" {
		// netascii would need the file converted on the fly (LF to CR LF)
		// and its converted size for tsize; boot clients all use octet.
		err = fmt.Errorf("%w: %q", errMode, req.mode)
	}
	var r io.Reader
	var size int64
	if err == nil {
		r, size, res.rendered, err = s.open(name, in.peer.Addr())
	}
	if err != nil {
		_, code, wire := outcomeOf(err)
		ep.send(appendError(nil, code, wire))
		return res, err
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	ra, err := readerAt(r)
	if err != nil {
		ep.send(appendError(nil, codeNotDefined, errWireRead.Error()))
		return res, fmt.Errorf("%w %s: %w", errReadFile, name, err)
	}
	g := negotiate(req.opts, size, s.limits(in))
	batch := 1 // SinglePort's portConn sends one at a time
	if _, ok := ep.(batchSender); ok {
		batch = batchLen(g.blksize, g.window)
	}
	pkt := getBuf(batch * (g.blksize + 4))
	defer putBuf(pkt)
	rb := getBuf(4 + defaultBlksize)
	defer putBuf(rb)
	snd := &sender{ep: ep, r: ra, size: size, blksize: g.blksize, window: g.window, oack: g.oack,
		timeout: cmp.Or(g.timeout, s.Timeout, DefaultTimeout), retries: cmp.Or(s.Retries, DefaultRetries),
		pkt: *pkt, rb: *rb, batch: batch}
	err = snd.run()
	res.bytes, res.blksize, res.window, res.retransmits = snd.bytes(), g.blksize, g.window, snd.retransmits
	if err != nil {
		if _, code, wire := outcomeOf(err); wire != "" {
			ep.send(appendError(nil, code, wire))
		}
		return res, fmt.Errorf("send %s: %w", name, err)
	}
	return res, nil
}

// finish logs and counts a transfer and tells OnTransfer.
func (s *Server) finish(req request, in inbound, d time.Duration, res result, err error) {
	outcome, _, _ := outcomeOf(err)
	s.stats.count(outcome)
	s.stats.bytes.Add(uint64(res.bytes))
	s.stats.retransmits.Add(uint64(res.retransmits))
	file := logName(req.name)
	attrs := []any{"peer", in.peer.String(), "file", file, "outcome", outcome, "bytes", res.bytes, "duration", d,
		"blksize", res.blksize, "windowsize", res.window, "retransmits", res.retransmits}
	if res.rendered {
		attrs = append(attrs, "rendered", true)
	}
	if err != nil && outcome != OutcomeSizeProbe {
		attrs = append(attrs, "err", err)
	}
	level := slog.LevelInfo
	if outcome == OutcomeSizeProbe {
		level = slog.LevelDebug
	}
	s.logger().Log(context.Background(), level, "tftp transfer", attrs...)
	if s.OnTransfer != nil && outcome != OutcomeSizeProbe {
		s.OnTransfer(Transfer{Peer: in.peer, File: file, Bytes: res.bytes, Duration: d, Outcome: outcome, Rendered: res.rendered})
	}
}

// outcomeOf classifies a transfer's result and picks the TFTP error code
// and message to send the client (none: "").
func outcomeOf(err error) (outcome string, code int, wire string) {
	var missing *MissingLoaderError
	var ce *clientError
	switch {
	case err == nil:
		return OutcomeOK, 0, ""
	case errors.As(err, &ce):
		if ce.code == codeOptionRefused && ce.afterOACK {
			// UEFI PXE (OVMF, most firmware) asks for tsize, then ends the
			// transfer with error 8 (RFC 2347) and fetches the file again.
			return OutcomeSizeProbe, 0, ""
		}
		return OutcomeFailed, 0, ""
	case errors.Is(err, errTimeout):
		return OutcomeFailed, 0, ""
	case errors.Is(err, errInterrupted):
		return OutcomeFailed, codeNotDefined, errWireShutdown.Error()
	case errors.Is(err, ErrAccessViolation):
		return OutcomeRefused, codeAccessViolation, errWireAccess.Error()
	case errors.Is(err, errMode):
		return OutcomeRefused, codeIllegalOp, errWireMode.Error()
	case errors.As(err, &missing):
		return OutcomeNotFound, codeNotFound, missing.Wire()
	case errors.Is(err, fs.ErrNotExist):
		return OutcomeNotFound, codeNotFound, errWireNotFound.Error()
	case errors.Is(err, errRender):
		return OutcomeFailed, codeNotDefined, errWireRender.Error()
	case errors.Is(err, errReadFile):
		return OutcomeFailed, codeNotDefined, errWireRead.Error()
	}
	return OutcomeFailed, 0, "" // the socket failed: nothing can be sent
}

// logName is a request name as logs and OnTransfer show it: a name over
// maxNameLen bytes, which is refused, as its first 64 bytes and length.
func logName(raw string) string {
	if len(raw) <= maxNameLen {
		return raw
	}
	return fmt.Sprintf("%s... (%d bytes)", raw[:64], len(raw))
}

// open returns the content for a cleaned name: what Render makes of it,
// else the file from s.files.
func (s *Server) open(name string, peer netip.Addr) (io.Reader, int64, bool, error) {
	if s.Render != nil {
		data, ok, err := s.Render(name, peer)
		if err != nil {
			return nil, 0, true, fmt.Errorf("%w %s for %s: %w", errRender, name, peer, err)
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
