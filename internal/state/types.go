package state

import (
	"net/netip"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// Install states of a machine.
const (
	Discovered = "discovered" // seen booting, not in machines.yaml
	Assigned   = "assigned"   // in machines.yaml
	Installing = "installing" // fetched an answer file
	Installed  = "installed"  // its installer called back
)

// Event kinds, in the order a boot usually goes through them.
const (
	KindDHCP     = "dhcp"     // a DHCP decision
	KindTFTP     = "tftp"     // a TFTP transfer
	KindMenu     = "menu"     // the boot script or menu fetched
	KindAsset    = "asset"    // a kernel, initrd or other asset fetched
	KindFile     = "file"     // a per-machine (answer) file fetched
	KindCallback = "callback" // the installer reported success
	KindState    = "state"    // an admin changed the state (reinstall)
)

// Outcomes.
const (
	OK      = "ok"
	Error   = "error"
	Refused = "refused"
)

// Event is one thing that happened to a machine.
type Event struct {
	Time    time.Time  `json:"time"`
	MAC     hw.MAC     `json:"mac"`
	Kind    string     `json:"kind"`
	Outcome string     `json:"outcome"`
	Detail  string     `json:"detail,omitempty"` // file name, decision, error
	IP      netip.Addr `json:"ip,omitzero"`
	Arch    hw.Arch    `json:"arch,omitzero"`
	// Bind, on a DHCP event, is the binding its reply made (see Binding).
	Bind *Binding `json:"bind,omitempty"`
	// OSLease, on a DHCP event, says the client was not network booting:
	// an installer's or an installed system's own DHCP. It belongs to the
	// boot under way and starts none (see StartsBoot).
	OSLease bool `json:"os_lease,omitempty"`
	// Known says whether the MAC is in machines.yaml at the time; it
	// moves a machine from discovered to assigned.
	Known bool `json:"-"`
}

// Machine is what the store knows about one MAC.
type Machine struct {
	MAC         hw.MAC     `json:"mac"`
	Name        string     `json:"name,omitempty"` // from machines.yaml, filled in by callers
	State       string     `json:"state"`
	FirstSeen   time.Time  `json:"first_seen"`
	LastSeen    time.Time  `json:"last_seen"`
	LastIP      netip.Addr `json:"last_ip,omitzero"`  // its last IPv4 address
	LastIP6     netip.Addr `json:"last_ip6,omitzero"` // its last IPv6 address (DHCPv6, or a request over IPv6)
	Arch        hw.Arch    `json:"arch,omitzero"`
	LastEvent   string     `json:"last_event,omitempty"` // kind of the latest event
	LastOutcome string     `json:"last_outcome,omitempty"`
	InstalledAt time.Time  `json:"installed_at,omitzero"`
	// RevokedBefore voids the machine's tokens issued before it: set by
	// the install callback and by reinstall.
	RevokedBefore time.Time `json:"tokens_revoked_before,omitzero"`
	Commit        string    `json:"commit,omitempty"` // config commit in service when last seen
}

// apply updates m with e and reports whether the install state changed.
func (m *Machine) apply(e Event) bool {
	if m.FirstSeen.IsZero() {
		m.FirstSeen = e.Time
	}
	if e.Time.After(m.LastSeen) {
		m.LastSeen = e.Time
		m.LastEvent, m.LastOutcome = e.Kind, e.Outcome
	}
	switch ip := e.IP.Unmap(); {
	case ip.Is4():
		m.LastIP = ip
	case ip.Is6() && !ip.IsLinkLocalUnicast():
		m.LastIP6 = ip
	}
	if e.Arch.Known() {
		m.Arch = e.Arch
	}
	old := m.State
	switch {
	case m.State == "" && e.Known, m.State == Discovered && e.Known:
		m.State = Assigned
	case m.State == "":
		m.State = Discovered
	}
	if e.Kind == KindFile && e.Outcome == OK && m.State != Installed {
		m.State = Installing
	}
	if e.Kind == KindCallback && e.Outcome == OK {
		m.State, m.InstalledAt = Installed, e.Time
	}
	return m.State != old
}

// StartsBoot says whether e opens a new boot: a DHCP decision for a
// network-boot client. The DHCP of the system that boot started (the
// Debian installer asks for an address after its kernel, before its
// answer file) does not, so the installer's steps stay in the timeline of
// the boot that loaded it.
func (e Event) StartsBoot() bool { return e.Kind == KindDHCP && !e.OSLease }
