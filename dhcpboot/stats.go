package dhcpboot

import (
	"sync/atomic"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// MsgType is the kind of a received packet, the first label of a counter:
// its DHCP message type (option 53), or "unknown" when it had none or did
// not parse.
type MsgType uint8

// Received packet kinds.
const (
	MsgUnknown MsgType = iota
	MsgDiscover
	MsgRequest
	MsgDecline
	MsgRelease
	MsgInform
	MsgOther
	numMsgTypes
)

var msgTypeNames = [numMsgTypes]string{"unknown", "discover", "request", "decline", "release", "inform", "other"}

// String returns the lower-case name used as a metric label.
func (t MsgType) String() string { return msgTypeNames[t] }

func msgTypeOf(mt dhcpv4.MessageType) MsgType {
	switch mt {
	case dhcpv4.MessageTypeNone:
		return MsgUnknown
	case dhcpv4.MessageTypeDiscover:
		return MsgDiscover
	case dhcpv4.MessageTypeRequest:
		return MsgRequest
	case dhcpv4.MessageTypeDecline:
		return MsgDecline
	case dhcpv4.MessageTypeRelease:
		return MsgRelease
	case dhcpv4.MessageTypeInform:
		return MsgInform
	}
	return MsgOther
}

// Outcome is what became of a received packet, the second label of a
// counter.
type Outcome uint8

// Packet outcomes.
const (
	OutOffer       Outcome = iota // answered with DHCPOFFER
	OutAck                        // answered with DHCPACK
	OutNak                        // answered with DHCPNAK
	OutIgnored                    // not for us, not a boot client, or nothing to say (RELEASE)
	OutDenied                     // refused by the allow/deny lists
	OutRateLimited                // over the per-MAC rate limit
	OutOwn                        // sent from one of our own addresses
	OutMalformed                  // did not parse, or not a request a server can answer
	OutExhausted                  // full mode: no free address in the subnet's range
	OutError                      // a failure of ours: lease store, socket
	OutPeer                       // full mode with replicas: another replica's share of clients
	OutUnavailable                // full mode: the lease store is down, no new lease granted
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"offer", "ack", "nak", "ignored", "denied", "rate_limited", "own", "malformed", "exhausted", "error", "peer", "unavailable"}

// String returns the lower-case name used as a metric label.
func (o Outcome) String() string { return outcomeNames[o] }

// Stats counts received packets by message type and outcome. Every packet
// read from a socket is counted exactly once. The zero value is ready; it
// is safe for concurrent use.
type Stats struct {
	n         [numMsgTypes][numOutcomes]atomic.Uint64
	conflicts atomic.Uint64
}

// Conflicts counts claims the lease store refused because another
// replica held the address: each DISCOVER so refused is offered another
// address, each REQUEST gets a NAK.
func (s *Stats) Conflicts() uint64 { return s.conflicts.Load() }

// Counter is one cell of Stats: how many packets of Type ended in Outcome.
// It maps onto a metric such as dhcp_packets_total{type,outcome}.
type Counter struct {
	Type    MsgType
	Outcome Outcome
	Value   uint64
}

func (s *Stats) add(t MsgType, o Outcome) { s.n[t][o].Add(1) }

// Get returns the count for one message type and outcome.
func (s *Stats) Get(t MsgType, o Outcome) uint64 { return s.n[t][o].Load() }

// Outcome returns the count of an outcome over all message types.
func (s *Stats) Outcome(o Outcome) uint64 {
	var sum uint64
	for t := range s.n {
		sum += s.n[t][o].Load()
	}
	return sum
}

// Total returns the number of packets received.
func (s *Stats) Total() uint64 {
	var sum uint64
	for t := range s.n {
		for o := range s.n[t] {
			sum += s.n[t][o].Load()
		}
	}
	return sum
}

// Counters returns every non-zero counter, ordered by type then outcome.
func (s *Stats) Counters() []Counter {
	var out []Counter
	for t := range s.n {
		for o := range s.n[t] {
			if v := s.n[t][o].Load(); v > 0 {
				out = append(out, Counter{MsgType(t), Outcome(o), v})
			}
		}
	}
	return out
}
