package tftpboot

import "sync/atomic"

// Outcomes of a read request, as logged in the "outcome" attribute and
// counted in Stats. They are fixed strings so that an exporter can use
// them as label values.
const (
	// OutcomeOK is a file sent completely.
	OutcomeOK = "ok"
	// OutcomeSizeProbe is a transfer the client ended after learning the
	// size from the OACK (TFTP error 8), as UEFI firmware does before
	// every download. It is not a failure.
	OutcomeSizeProbe = "size_probe"
	// OutcomeNotFound is a name that is in no layer (TFTP error 1).
	OutcomeNotFound = "not_found"
	// OutcomeRefused is a name refused by policy: one that would leave a
	// root, a directory or other non-regular file, a name over 512 bytes
	// (TFTP error 2), or a mode other than octet (TFTP error 4).
	OutcomeRefused = "refused"
	// OutcomeBusy is a request refused because MaxTransfers transfers were
	// in flight (TFTP error 0, "server busy").
	OutcomeBusy = "busy"
	// OutcomeFailed is a transfer broken off: the client stopped
	// answering or sent an error, the file could not be read or
	// rendered, or the server shut down.
	OutcomeFailed = "failed"
)

// Stats counts what a Server has done since it was created. Every field
// but Active only grows, so each maps to a Prometheus counter; Active is
// a gauge.
type Stats struct {
	// Sent is the number of read transfers completed (OutcomeOK).
	Sent uint64
	// SizeProbes is the number of size probes (OutcomeSizeProbe).
	SizeProbes uint64
	// NotFound is the number of read requests for missing files.
	NotFound uint64
	// Refused is the number of read requests refused by policy.
	Refused uint64
	// Busy is the number of read requests refused for lack of a slot.
	Busy uint64
	// Failed is the number of transfers broken off (OutcomeFailed).
	Failed uint64
	// WritesRefused is the number of write requests, all refused.
	WritesRefused uint64
	// Bytes is the number of file bytes sent, partial transfers included.
	Bytes uint64
	// Retransmits is the number of DATA or OACK packets sent again:
	// because no acknowledgement came within Timeout, or because the
	// client acknowledged a block before the end of a window, and the
	// rest of it went again (RFC 7440).
	Retransmits uint64
	// Dropped is the number of datagrams on the listening socket that
	// were not requests (malformed, or not a read or write request), or
	// repeated a request whose transfer was running, and were ignored.
	Dropped uint64
	// Active is the number of read transfers in flight now.
	Active int64
}

// ByOutcome returns the read-request counters keyed by outcome (the
// Outcome* constants), for an exporter's label values.
func (s Stats) ByOutcome() map[string]uint64 {
	return map[string]uint64{
		OutcomeOK:        s.Sent,
		OutcomeSizeProbe: s.SizeProbes,
		OutcomeNotFound:  s.NotFound,
		OutcomeRefused:   s.Refused,
		OutcomeBusy:      s.Busy,
		OutcomeFailed:    s.Failed,
	}
}

// counters are a Server's live counters.
type counters struct {
	sent, probes, notFound, refused, busy, failed, writes atomic.Uint64
	bytes, retransmits, dropped                           atomic.Uint64
	active                                                atomic.Int64
}

// count adds one transfer with outcome.
func (c *counters) count(outcome string) {
	switch outcome {
	case OutcomeOK:
		c.sent.Add(1)
	case OutcomeSizeProbe:
		c.probes.Add(1)
	case OutcomeNotFound:
		c.notFound.Add(1)
	case OutcomeRefused:
		c.refused.Add(1)
	case OutcomeBusy:
		c.busy.Add(1)
	default:
		c.failed.Add(1)
	}
}

// Stats returns a snapshot of the server's counters. Each field is read
// atomically; the snapshot as a whole is not, so fields may be a transfer
// apart.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Sent: c.sent.Load(), SizeProbes: c.probes.Load(), NotFound: c.notFound.Load(),
		Refused: c.refused.Load(), Busy: c.busy.Load(), Failed: c.failed.Load(),
		WritesRefused: c.writes.Load(), Bytes: c.bytes.Load(), Retransmits: c.retransmits.Load(),
		Dropped: c.dropped.Load(), Active: c.active.Load(),
	}
}
