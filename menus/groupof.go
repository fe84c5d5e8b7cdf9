package menus

import (
	"net/netip"

	"github.com/bootwright/bootwright/internal/hw"
)

// GroupOf returns the name of the group a request from mac with arch from
// ip gets, as Resolve picks it ("" for none): for the status page, which
// knows a machine's last arch and address but holds no request.
func (c *Config) GroupOf(mac hw.MAC, arch hw.Arch, ip netip.Addr) string {
	if g := c.groupFor(c.targetOf(mac, arch, ip)); g != nil {
		return g.Name
	}
	return ""
}

// targetOf is what group selectors look at for a request from mac with
// arch from ip: with the labels machines.yaml gives mac, if listed.
func (c *Config) targetOf(mac hw.MAC, arch hw.Arch, ip netip.Addr) target {
	t := target{mac: mac.Hex(), arch: arch.Family(), ip: ip}
	if m := c.Machines[mac]; m != nil {
		t.labels = m.Labels
	}
	return t
}
