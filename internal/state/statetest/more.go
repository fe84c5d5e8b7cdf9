package statetest

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

func testBindings(t *testing.T, b Backend) {
	s, be := b.open(t)
	a, a2 := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.0.6")
	now := s.Now()
	bind := func(addr netip.Addr, until time.Duration) *state.Binding {
		return &state.Binding{Addr: addr, Since: now, Until: now.Add(until), Source: state.BoundByLease}
	}
	s.Record(state.Event{MAC: mac1, Kind: state.KindDHCP, Outcome: state.OK, IP: a, Bind: bind(a, time.Hour)})
	if got, ok := s.Binding(mac1, now); !ok || got.Addr != a {
		t.Fatalf("binding = %v %v, want %s at once", got, ok, a)
	}
	Flush(t, s, mac1, 1)
	// The same address granted to another MAC unbinds the first.
	s.Bind(mac2, *bind(a, time.Hour))
	if _, ok := s.Binding(mac1, now); ok {
		t.Error("mac1 still bound to an address granted to mac2")
	}
	// Within a second of the first: a repeat, not kept as an event, but
	// its binding is.
	s.Record(state.Event{MAC: mac1, Kind: state.KindDHCP, Outcome: state.OK, IP: a2, Bind: bind(a2, time.Minute)})
	if _, ok := s.Binding(mac1, now.Add(2*time.Minute)); ok {
		t.Error("a binding outlived its lease")
	}
	// An event without Bind, a ciaddr for instance, binds nothing.
	s.Record(state.Event{MAC: mac2, Kind: state.KindDHCP, Outcome: state.OK, IP: a2, Detail: "INFORM"})
	Flush(t, s, mac2, 1)
	if got, _ := s.Binding(mac2, now); got.Addr != a {
		t.Errorf("mac2 bound to %s after an event without Bind, want %s", got.Addr, a)
	}
	// After a restart: the same bindings; mac2's Bind made no machine
	// (its INFORM did).
	s, _ = b.reopen(t, s, be)
	if got, ok := s.Binding(mac1, now); !ok || got.Addr != a2 {
		t.Errorf("after restart mac1 = %v %v, want %s", got, ok, a2)
	}
	if got, ok := s.Binding(mac2, now); !ok || got.Addr != a || got.Source != state.BoundByLease {
		t.Errorf("after restart mac2 = %v %v, want %s", got, ok, a)
	}
}

func testBindAlone(t *testing.T, b Backend) {
	s, _ := b.open(t)
	now := s.Now()
	s.Bind(mac1, state.Binding{Addr: netip.MustParseAddr("10.0.0.7"), Since: now, Until: now.Add(time.Hour)})
	s.Record(state.Event{MAC: mac2, Kind: state.KindFile, Outcome: state.Refused, Detail: "preseed.cfg: no token"})
	Flush(t, s, mac2, 1) // the refusal is kept as an event
	for _, m := range []hw.MAC{mac1, mac2} {
		if _, err := s.Machine(m); err == nil {
			t.Errorf("%s became a machine", m)
		}
	}
}

func testRefusals(t *testing.T, b Backend) {
	s, _ := b.open(t)
	s.Record(state.Event{MAC: mac1, Kind: state.KindMenu, Outcome: state.OK, Known: true})
	Flush(t, s, mac1, 1)
	for i, e := range []state.Event{
		{Kind: state.KindFile, Outcome: state.Refused, Detail: "preseed.cfg: wrong token"},
		{Kind: state.KindFile, Outcome: state.Error, Detail: "preseed.cfg: render failed"},
		{Kind: state.KindCallback, Outcome: state.Refused, Detail: "token expired"},
	} {
		e.MAC, e.Known = mac1, true
		s.Record(e)
		Flush(t, s, mac1, i+2)
		if st := s.StateOf(mac1); st != state.Assigned {
			t.Errorf("after %s %s: state %q, want assigned", e.Kind, e.Outcome, st)
		}
	}
	s.Record(state.Event{MAC: mac1, Kind: state.KindFile, Outcome: state.OK, Known: true, Detail: "preseed.cfg"})
	Flush(t, s, mac1, 5)
	time.Sleep(50 * time.Millisecond) // the writer updates memory after the commit
	if st := s.StateOf(mac1); st != state.Installing {
		t.Errorf("after a served file: %q, want installing", st)
	}
	m, err := s.Installed(mac1, netip.Addr{}, true)
	if err != nil || m.State != state.Installed || m.RevokedBefore.IsZero() || !s.RevokedBefore(mac1).Equal(m.RevokedBefore) {
		t.Errorf("Installed = %+v, %v; revoked before %v", m, err, s.RevokedBefore(mac1))
	}
	at := m.RevokedBefore
	if m, _ := s.Reinstall(mac1, true); m.RevokedBefore.Before(at) {
		t.Errorf("Reinstall moved revocation back: %v < %v", m.RevokedBefore, at)
	}
}

func testRepeats(t *testing.T, b Backend) {
	s, _ := b.open(t)
	t0 := time.Now()
	menu := func(ms int) state.Event {
		return state.Event{Time: t0.Add(time.Duration(ms) * time.Millisecond), MAC: mac1, Kind: state.KindMenu, Outcome: state.OK, Detail: "menu default"}
	}
	for ms := range 100 {
		s.Record(menu(ms)) // a client looping on its menu
	}
	s.Record(state.Event{Time: t0.Add(200 * time.Millisecond), MAC: mac1, Kind: state.KindAsset, Outcome: state.OK})
	s.Record(menu(300)) // not a repeat: something happened in between
	s.Record(menu(1500))
	Flush(t, s, mac1, 4)
	time.Sleep(200 * time.Millisecond)
	if ev, _ := s.Events(mac1, 0); len(ev) != 4 {
		t.Errorf("%d events, want 4 (one of the 100 repeats, asset, menu, menu a second later): %+v", len(ev), ev)
	}
}

func testRecent(t *testing.T, b Backend) {
	s, _ := b.open(t)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	const n = 40
	for i := range n {
		// Machines come in threes that share a time, to check the tie-break.
		at := t0.Add(time.Duration(i-i%3) * time.Second)
		s.Record(state.Event{Time: at, MAC: MACN(i * 7 % n), Kind: state.KindDHCP, Outcome: state.OK})
	}
	for i := range n {
		Flush(t, s, MACN(i), 1)
	}
	all, err := s.Machines()
	if err != nil {
		t.Fatal(err)
	}
	// Machines sorts by time alone; Recent breaks ties by MAC.
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && all[j].LastSeen.Equal(all[j-1].LastSeen) && string(all[j].MAC[:]) < string(all[j-1].MAC[:]); j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	even := func(m *state.Machine) bool { return m.MAC[5]%2 == 0 }
	odd := func(mac hw.MAC) bool { return mac[5]%2 == 1 }
	tests := map[string]struct {
		limit int
		f     state.Filter
	}{
		"all, bounded":                   {limit: 5},
		"all, beyond":                    {limit: n + 10},
		"none, only the count":           {limit: 0},
		"kept, bounded":                  {limit: 7, f: state.Filter{Keep: even}},
		"kept, beyond":                   {limit: n, f: state.Filter{Keep: even}},
		"kept, only the count":           {limit: 0, f: state.Filter{Keep: even}},
		"skipped by MAC, bounded":        {limit: 7, f: state.Filter{SkipMAC: odd}},
		"skipped by MAC, only the count": {limit: 0, f: state.Filter{SkipMAC: odd}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var want []hw.MAC
			wantTotal := 0
			for _, m := range all {
				if tc.f.Keep != nil && !tc.f.Keep(&m) || tc.f.SkipMAC != nil && tc.f.SkipMAC(m.MAC) {
					continue
				}
				wantTotal++
				if len(want) < tc.limit {
					want = append(want, m.MAC)
				}
			}
			ms, total, err := s.Recent(tc.limit, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []hw.MAC
			for _, m := range ms {
				got = append(got, m.MAC)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Recent(%d) (-want +got):\n%s", tc.limit, diff)
			}
			if total != wantTotal {
				t.Errorf("Recent(%d) total = %d, want %d", tc.limit, total, wantTotal)
			}
		})
	}
}

func testLookup(t *testing.T, b Backend) {
	s, _ := b.open(t)
	s.Record(state.Event{MAC: mac1, Kind: state.KindDHCP, Outcome: state.OK, Known: true})
	Flush(t, s, mac1, 1)
	got, err := s.Lookup([]hw.MAC{mac1, mac2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[mac1].MAC != mac1 || got[mac1].State != state.Assigned {
		t.Errorf("Lookup = %+v, want only %s, assigned", got, mac1)
	}
}

// Hostile is text a client controls (a file name in a URL, a vendor
// class, a hostname) as it may arrive: quotes, a NUL, SQL, bytes that are
// not UTF-8, a very long string.
var Hostile = []string{
	`it's "quoted" \ and ; -- commented`,
	"nul\x00inside",
	"'); DROP TABLE machines; --",
	"\xff\xfe not utf-8 \xc3",
	"emoji 🚀 and \u2028 line separator",
	strings.Repeat("x", 64<<10),
}

// testHostile: such text is stored and read back as data, the same from
// every backend (Go's JSON turns bytes that are not UTF-8 into U+FFFD in
// both), and breaks nothing else.
func testHostile(t *testing.T, b Backend) {
	s, be := b.open(t)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i, h := range Hostile {
		s.Record(state.Event{Time: t0.Add(time.Duration(i) * time.Second), MAC: mac1, Kind: state.KindFile, Outcome: state.OK, Known: true, Detail: h})
	}
	Flush(t, s, mac1, len(Hostile))
	s, _ = b.reopen(t, s, be)
	ev, err := s.Events(mac1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ev {
		got = append(got, e.Detail)
	}
	want := make([]string, len(Hostile))
	for i, h := range Hostile {
		want[i] = viaJSON(h)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("details read back (-want +got):\n%s", diff)
	}
	if m, err := s.Machine(mac1); err != nil || m.State != state.Installing {
		t.Errorf("machine after hostile details: %+v, %v", m, err)
	}
}
