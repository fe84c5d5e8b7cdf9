package dhcp6boot

import (
	"sync/atomic"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// MsgType is the kind of a received message, the first label of a
// counter: its client message type (inside any relay envelopes), or
// "unknown" when it did not parse or is not one a client sends.
type MsgType uint8

// Received message kinds.
const (
	MsgUnknown MsgType = iota
	MsgSolicit
	MsgRequest
	MsgConfirm
	MsgRenew
	MsgRebind
	MsgRelease
	MsgDecline
	MsgInformationRequest
	numMsgTypes
)

var msgTypeNames = [numMsgTypes]string{"unknown", "solicit", "request", "confirm", "renew", "rebind", "release",
	"decline", "information_request"}

// String returns the lower-case name used as a metric label.
func (t MsgType) String() string { return msgTypeNames[t] }

var msgTypes = map[dhcpv6.MessageType]MsgType{
	dhcpv6.MessageTypeSolicit: MsgSolicit, dhcpv6.MessageTypeRequest: MsgRequest,
	dhcpv6.MessageTypeConfirm: MsgConfirm, dhcpv6.MessageTypeRenew: MsgRenew,
	dhcpv6.MessageTypeRebind: MsgRebind, dhcpv6.MessageTypeRelease: MsgRelease,
	dhcpv6.MessageTypeDecline: MsgDecline, dhcpv6.MessageTypeInformationRequest: MsgInformationRequest,
}

func msgTypeOf(mt dhcpv6.MessageType) MsgType { return msgTypes[mt] } // MsgUnknown when absent

// Outcome is what became of a received message, the second label of a
// counter.
type Outcome uint8

// Message outcomes.
const (
	OutAdvertise   Outcome = iota // answered with an Advertise
	OutReply                      // answered with a Reply (addresses, options, or Success)
	OutNotOnLink                  // answered NotOnLink: the client named an address off our prefix
	OutNoAddrs                    // answered NoAddrsAvail: the range is full
	OutIgnored                    // not for us, not a boot client (proxy), or nothing to say
	OutDenied                     // refused by the allow/deny lists
	OutRateLimited                // over the per-MAC rate limit
	OutOwn                        // sent from one of our own addresses
	OutMalformed                  // did not parse, an option past the end, too many relays, not a client message
	OutNoMAC                      // names no MAC (see Client.MACSource)
	OutError                      // a failure of ours: lease store, socket
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"advertise", "reply", "not_on_link", "no_addrs", "ignored", "denied",
	"rate_limited", "own", "malformed", "no_mac", "error"}

// String returns the lower-case name used as a metric label.
func (o Outcome) String() string { return outcomeNames[o] }

// Stats counts received messages by type and outcome. Every datagram read
// is counted exactly once. The zero value is ready; it is safe for
// concurrent use.
type Stats struct {
	n [numMsgTypes][numOutcomes]atomic.Uint64
}

// Counter is one cell of Stats, as a metric such as
// bootwright_dhcp6_packets_total{type,outcome}.
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
