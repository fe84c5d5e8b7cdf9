package menus

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/bootwright/bootwright/internal/hw"
)

// target is what group selectors look at: a machine's MAC and labels and
// the request's arch and client address.
type target struct {
	mac    string // hw.MAC.Hex
	labels []string
	arch   hw.Arch    // its family; ArchUnknown when unknown
	ip     netip.Addr // invalid when unknown
}

// specificity orders matching groups; the highest wins. It compares, in
// turn: the longest MAC selector (in hex digits), the number of labels
// required, the subnet's prefix length, and whether arch is constrained.
type specificity [4]int

func (s *Selector) specificity() specificity {
	var sp specificity
	for _, m := range s.macs {
		sp[0] = max(sp[0], len(m))
	}
	sp[1] = len(s.Labels)
	if s.Subnet != nil {
		sp[2] = s.Subnet.Bits() + 1 // a /0 subnet still counts
	}
	if len(s.Arch) > 0 {
		sp[3] = 1
	}
	return sp
}

func (sp specificity) String() string {
	return fmt.Sprintf("mac digits %d, labels %d, subnet /%d, arch %d", sp[0], sp[1], max(sp[2]-1, 0), sp[3])
}

func (s *Selector) matchesStatic(t target) bool {
	if len(s.macs) > 0 && !slices.ContainsFunc(s.macs, func(p string) bool { return strings.HasPrefix(t.mac, p) }) {
		return false
	}
	for _, l := range s.Labels {
		if !slices.Contains(t.labels, l) {
			return false
		}
	}
	return true
}

func (s *Selector) matches(t target) bool {
	if !s.matchesStatic(t) {
		return false
	}
	if len(s.arches) > 0 && !slices.Contains(s.arches, t.arch) {
		return false
	}
	if s.Subnet != nil && (!t.ip.IsValid() || !s.Subnet.Contains(t.ip)) {
		return false
	}
	return true
}

// dynamicOverlap reports whether some arch and client address satisfy
// both selectors.
func dynamicOverlap(a, b *Selector) bool {
	if len(a.arches) > 0 && len(b.arches) > 0 && !slices.ContainsFunc(a.arches, func(x hw.Arch) bool { return slices.Contains(b.arches, x) }) {
		return false
	}
	if a.Subnet != nil && b.Subnet != nil && !a.Subnet.Overlaps(b.Subnet.Prefix) {
		return false
	}
	return true
}

// macOverlap reports whether some MAC satisfies both MAC selectors.
func macOverlap(a, b *Selector) bool {
	if len(a.macs) == 0 || len(b.macs) == 0 {
		return true
	}
	for _, x := range a.macs {
		for _, y := range b.macs {
			if strings.HasPrefix(x, y) || strings.HasPrefix(y, x) {
				return true
			}
		}
	}
	return false
}

// checkAmbiguous rejects two equally specific groups that could match the
// same request. Groups that need labels can only match listed machines, so
// for them the listed machines are checked; other groups could match any
// MAC, arch and address their selectors allow.
func (c *Config) checkAmbiguous() error {
	for i := range c.Groups {
		for j := i + 1; j < len(c.Groups); j++ {
			a, b := &c.Groups[i], &c.Groups[j]
			if a.Match.specificity() != b.Match.specificity() || !dynamicOverlap(&a.Match, &b.Match) {
				continue
			}
			why := ""
			if len(a.Match.Labels) == 0 && len(b.Match.Labels) == 0 {
				if macOverlap(&a.Match, &b.Match) {
					why = "the same request"
				}
			} else {
				for _, m := range c.machineList {
					t := m.target()
					if a.Match.matchesStatic(t) && b.Match.matchesStatic(t) {
						why = "machine " + m.Name
						break
					}
				}
			}
			if why != "" {
				return fmt.Errorf("%s: group %s is as specific as group %s (%s) and both match %s; make one selector more specific",
					b.pos, b.Name, a.Name, a.pos, why)
			}
		}
	}
	return nil
}

// groupFor returns the most specific group matching t, or nil.
func (c *Config) groupFor(t target) *Group {
	var best *Group
	for i := range c.Groups {
		g := &c.Groups[i]
		if !g.Match.matches(t) {
			continue
		}
		if best == nil || greater(g.Match.specificity(), best.Match.specificity()) {
			best = g
		}
	}
	return best
}

func greater(a, b specificity) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return false
}

func (m *Machine) target() target {
	return target{mac: m.MAC.Hex(), labels: m.Labels}
}
