package main

import (
	"fmt"

	"github.com/bootwright/bootwright/dhcp6boot"
	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/metrics"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/tftpboot"
)

// observe connects the DHCP and TFTP servers (either may be nil) to the
// boot timeline and to /metrics.
func observe(st *state.Store, live *bootconfig.Live, m *metrics.Metrics, ds *dhcpboot.Server, ts *tftpboot.Server) {
	known := func(mac hw.MAC) bool { return live.Load().Menus.Machines[mac] != nil }
	if ds != nil {
		ds.OnPacket = dhcpEvents(st, known, ds.Mode)
		m.AddCounters("bootwright_dhcp_packets_total", "DHCP packets received, by message type and outcome.",
			[]string{"type", "outcome"}, func(emit func(float64, ...string)) {
				for _, c := range ds.Stats().Counters() {
					emit(float64(c.Value), c.Type.String(), c.Outcome.String())
				}
			})
	}
	if ts != nil {
		ts.OnTransfer = tftpEvents(st, known)
		m.AddCounters("bootwright_tftp_transfers_total", "TFTP read requests, by outcome.",
			[]string{"outcome"}, func(emit func(float64, ...string)) {
				s := ts.Stats()
				for outcome, n := range map[string]uint64{tftpboot.OutcomeOK: s.Sent, tftpboot.OutcomeSizeProbe: s.SizeProbes,
					tftpboot.OutcomeNotFound: s.NotFound, tftpboot.OutcomeRefused: s.Refused, tftpboot.OutcomeBusy: s.Busy,
					tftpboot.OutcomeFailed: s.Failed, "write_refused": s.WritesRefused} {
					emit(float64(n), outcome)
				}
			})
		m.AddCounters("bootwright_tftp_bytes_total", "File bytes sent over TFTP.", nil,
			func(emit func(float64, ...string)) { emit(float64(ts.Stats().Bytes)) })
		m.AddCounters("bootwright_tftp_retransmits_total", "TFTP packets sent again for want of an ACK.", nil,
			func(emit func(float64, ...string)) { emit(float64(ts.Stats().Retransmits)) })
		m.AddCounters("bootwright_tftp_dropped_packets_total", "Datagrams on the TFTP port that were not requests, or repeated a running transfer's request.", nil,
			func(emit func(float64, ...string)) { emit(float64(ts.Stats().Dropped)) })
		m.AddGauge("bootwright_tftp_active_transfers", "TFTP transfers in flight.",
			func() float64 { return float64(ts.Stats().Active) })
	}
	m.AddCounters("bootwright_state_events_dropped_total", "Boot events dropped because the state store could not keep up.", nil,
		func(emit func(float64, ...string)) { emit(float64(st.Dropped())) })
}

// tftpEvents turns TFTP transfers into boot events of the machine at the
// client's address, when it is known from DHCP or an earlier request.
func tftpEvents(st *state.Store, known func(hw.MAC) bool) func(tftpboot.Transfer) {
	return func(t tftpboot.Transfer) {
		ip := t.Peer.Addr().Unmap()
		mac, ok := st.MACFor(ip)
		if !ok {
			return
		}
		outcome := state.OK
		switch t.Outcome {
		case tftpboot.OutcomeOK:
		case tftpboot.OutcomeRefused:
			outcome = state.Refused
		default:
			outcome = state.Error
		}
		st.Record(state.Event{MAC: mac, Kind: state.KindTFTP, Outcome: outcome, IP: ip, Known: known(mac),
			Detail: fmt.Sprintf("%s %s, %d bytes", t.File, t.Outcome, t.Bytes)})
	}
}

// dhcpEvents turns DHCP decisions into boot events: replies to boot
// clients and to listed machines, and boot clients left without a boot
// file. Other clients a full-mode server leases to (phones, printers) and
// requests a proxy leaves to the LAN's server are not events.
//
// A reply that binds an address to the MAC (dhcpboot.Event.Bound) makes
// the binding answer-file access trusts.
func dhcpEvents(st *state.Store, known func(hw.MAC) bool, mode dhcpboot.Mode) func(dhcpboot.Event) {
	source := state.BoundByLease
	if mode == dhcpboot.ModeProxy {
		source = state.BoundByPXE
	}
	return func(e dhcpboot.Event) {
		var bind *state.Binding
		if e.Bound.IsValid() {
			bind = &state.Binding{Addr: e.Bound, Since: st.Now(), Until: e.BoundUntil, Source: source}
		}
		if !e.PXE && !known(e.MAC) {
			if bind != nil {
				st.Bind(e.MAC, *bind) // its address is no longer another machine's
			}
			return
		}
		outcome := state.OK
		switch {
		case e.Outcome == dhcpboot.OutNak || e.Outcome == dhcpboot.OutExhausted || e.Outcome == dhcpboot.OutError:
			outcome = state.Error
		case e.Decision.Reason == dhcpboot.ReasonNoFile && (e.Outcome == dhcpboot.OutIgnored || e.Outcome == dhcpboot.OutOffer || e.Outcome == dhcpboot.OutAck):
			// Unanswered (proxy) or answered without boot options
			// (full mode): either way this boot client cannot boot.
			outcome = state.Error
		case e.Outcome != dhcpboot.OutOffer && e.Outcome != dhcpboot.OutAck:
			return
		}
		ev := state.Event{MAC: e.MAC, Kind: state.KindDHCP, Outcome: outcome, Arch: e.Arch,
			Detail: e.Type + " → " + e.Outcome.String() + ": " + e.Decision.String(), Known: known(e.MAC),
			OSLease: e.Decision.Reason == dhcpboot.ReasonNotPXE}
		if e.YourIP.IsValid() {
			ev.IP = e.YourIP
		} else if e.ClientIP.IsValid() {
			ev.IP = e.ClientIP
		}
		if bind != nil {
			ev.Bind = bind
			ev.Detail += ", bound " + e.Bound.String()
		}
		st.Record(ev)
	}
}

// observe6 connects the DHCPv6 server (nil when off) to the boot timeline
// and to /metrics.
func observe6(st *state.Store, live *bootconfig.Live, m *metrics.Metrics, ds *dhcp6boot.Server) {
	if ds == nil {
		return
	}
	known := func(mac hw.MAC) bool { return live.Load().Menus.Machines[mac] != nil }
	ds.OnPacket = dhcp6Events(st, known, ds.Mode)
	m.AddCounters("bootwright_dhcp6_packets_total", "DHCPv6 messages received, by client message type and outcome.",
		[]string{"type", "outcome"}, func(emit func(float64, ...string)) {
			for _, c := range ds.Stats().Counters() {
				emit(float64(c.Value), c.Type.String(), c.Outcome.String())
			}
		})
}

// dhcp6Events turns DHCPv6 decisions into boot events, as dhcpEvents
// does for DHCP: replies to boot clients and listed machines, boot
// clients left without a boot file; a Reply that grants an address
// (dhcp6boot.Event.Bound) makes the IPv6 binding answer-file access trusts.
func dhcp6Events(st *state.Store, known func(hw.MAC) bool, mode dhcpboot.Mode) func(dhcp6boot.Event) {
	source := state.BoundByLease
	if mode == dhcpboot.ModeProxy {
		source = state.BoundByPXE
	}
	return func(e dhcp6boot.Event) {
		var bind *state.Binding
		if e.Bound.IsValid() {
			bind = &state.Binding{Addr: e.Bound, Since: st.Now(), Until: e.BoundUntil, Source: source}
		}
		if !e.PXE && !known(e.MAC) {
			if bind != nil {
				st.Bind(e.MAC, *bind)
			}
			return
		}
		outcome := state.OK
		switch {
		case e.Outcome == dhcp6boot.OutNotOnLink || e.Outcome == dhcp6boot.OutNoAddrs || e.Outcome == dhcp6boot.OutError:
			outcome = state.Error
		case e.Decision.Reason == dhcpboot.ReasonNoFile && e.Outcome != dhcp6boot.OutDenied:
			outcome = state.Error
		case e.Outcome != dhcp6boot.OutAdvertise && e.Outcome != dhcp6boot.OutReply:
			return
		}
		ev := state.Event{MAC: e.MAC, Kind: state.KindDHCP, Outcome: outcome, Arch: e.Arch, IP: e.Addr,
			Detail: "DHCPv6 " + e.Type + " → " + e.Outcome.String() + ": " + e.Decision.String(), Known: known(e.MAC)}
		if bind != nil {
			ev.Bind = bind
			ev.Detail += ", bound " + e.Bound.String()
		}
		st.Record(ev)
	}
}
