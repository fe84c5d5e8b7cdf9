package httpboot

import (
	"html"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

// statusMachines lists three machines; node1 has booted, the others not.
const statusMachines = `groups:
  - name: rack1
    match: {labels: [rack1]}
machines:
  - mac: 52:54:00:00:00:01
    name: node1
    labels: [rack1]
  - mac: 52:54:00:00:00:02
    name: node2
  - mac: 52:54:00:00:00:03
    name: db-one
    labels: [db]
`

var node1, node2, node3 = hw.MustParseMAC("52:54:00:00:00:01"), hw.MustParseMAC("52:54:00:00:00:02"), hw.MustParseMAC("52:54:00:00:00:03")

// newStatusServer is a server with statusMachines and a fresh store.
func newStatusServer(t testing.TB) (*Server, *state.Store) {
	t.Helper()
	cfg := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(cfg, "menus"), 0o755))
	must(t, os.WriteFile(filepath.Join(cfg, "menus", "machines.yaml"), []byte(statusMachines), 0o644))
	b, err := bootconfig.Load(cfg)
	must(t, err)
	st, err := state.Open(filepath.Join(t.TempDir(), state.FileName))
	must(t, err)
	t.Cleanup(func() { st.Close() })
	return &Server{Boot: &boot.Policy{Config: bootconfig.NewLive(b), PublicURL: "http://10.0.0.1:8080", State: st}}, st
}

// discovered is the i-th made-up MAC, 02:00:00:01:hi:lo.
func discovered(i int) hw.MAC { return hw.MAC{2, 0, 0, 1, byte(i >> 8), byte(i)} }

// flood records n discovered machines, each seen once, all after node1
// booted (at t0, an hour before them) and discovered(i) after
// discovered(i-1); discovered(7) at 10.0.0.77.
func flood(t testing.TB, st *state.Store, n int) {
	t.Helper()
	t0 := time.Now().Add(-2 * time.Hour)
	st.Record(state.Event{Time: t0, MAC: node1, Kind: state.KindDHCP, Outcome: state.OK, Known: true,
		IP: netip.MustParseAddr("10.0.0.11"), Arch: hw.ArchBIOS})
	for i := range n {
		e := state.Event{Time: t0.Add(time.Hour + time.Duration(i)*time.Second), MAC: discovered(i), Kind: state.KindDHCP, Outcome: state.OK}
		if i == 7 {
			e.IP = netip.MustParseAddr("10.0.0.77")
		}
		st.Record(e)
	}
	waitMachines(t, st, n+1)
}

var dataMAC = regexp.MustCompile(`data-mac="([^"]+)"`)

// rowMACs returns the MACs of the rows in a status page, in order.
func rowMACs(body string) []string {
	var out []string
	for _, m := range dataMAC.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestStatusListsListedMachinesFirst(t *testing.T) {
	s, st := newStatusServer(t)
	flood(t, st, 1000)
	start := time.Now()
	code, body := do(t, s.Handler(), "GET", "/", "")
	t.Logf("GET / with 3 listed and 1000 discovered machines: %v, %d bytes", time.Since(start), len(body))
	if code != 200 {
		t.Fatalf("GET / = %d", code)
	}
	var want []string
	for _, m := range []hw.MAC{node1, node2, node3} {
		want = append(want, m.String())
	}
	want = append(want, macsDown(999, 800)...) // the 200 most recently seen
	if diff := cmp.Diff(want, rowMACs(body)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	for _, s := range []string{
		"and 800 more discovered machines",
		"Discovered, not in machines.yaml: 1000,",
		// Listed: the name, the MAC below it.
		`<a class="name" href="/machines/52-54-00-00-00-01">node1</a><div class="mac">52:54:00:00:00:01</div>`,
		`<span class="label">rack1</span>`,
		`>db-one</a>`,
		// Discovered: named by their MAC.
		`<a class="name by-mac" href="/machines/02-00-00-01-03-e7">02:00:00:01:03:e7</a>`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("status page lacks %s", s)
		}
	}
	if strings.Contains(body, "unknown") {
		t.Error(`status page still calls a machine "unknown"`)
	}
}

func TestStatusSearch(t *testing.T) {
	s, st := newStatusServer(t)
	flood(t, st, 300)
	h := s.Handler()
	tests := map[string]struct {
		q    string
		want []string
		more string // the "and N more" row, if any
	}{
		"a listed name":                {q: "node2", want: []string{"52:54:00:00:00:02"}},
		"a label":                      {q: "RACK1", want: []string{"52:54:00:00:00:01"}},
		"a state":                      {q: "assigned", want: []string{"52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03"}},
		"beyond the bound, by MAC":     {q: "02:00:00:01:00:05", want: []string{"02:00:00:01:00:05"}},
		"beyond the bound, by URL MAC": {q: "02-00-00-01-00-05", want: []string{"02:00:00:01:00:05"}},
		"beyond the bound, by address": {q: "10.0.0.77", want: []string{"02:00:00:01:00:07"}},
		"every word must match":        {q: "discovered 02:00:00:01:01:2", want: macsDown(299, 288)},
		"nothing":                      {q: "no-such-machine"},
		"many are bounded and counted": {q: "discovered", want: macsDown(299, 100), more: "and 100 more discovered machines that match"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/?q=", "/status/rows?q="} {
				code, body := do(t, h, "GET", path+strings.ReplaceAll(tc.q, " ", "+"), "")
				if code != 200 {
					t.Fatalf("GET %s%s = %d", path, tc.q, code)
				}
				if diff := cmp.Diff(tc.want, rowMACs(body)); diff != "" {
					t.Errorf("GET %s%s rows (-want +got):\n%s", path, tc.q, diff)
				}
				if tc.more != "" && !strings.Contains(body, tc.more) {
					t.Errorf("GET %s%s lacks %q", path, tc.q, tc.more)
				}
			}
		})
	}
	// Odd searches are answered, not failed.
	for _, q := range []string{"%ff%fe", strings.Repeat("%C3%A9", 300), "+++", "%00"} {
		if code, _ := do(t, h, "GET", "/status/rows?q="+q, ""); code != 200 {
			t.Errorf("GET /status/rows?q=%s = %d", q, code)
		}
	}
	// The page keeps the search in its box, escaped.
	if _, body := do(t, h, "GET", `/?q=%22%3E%3Cb%3E`, ""); !strings.Contains(body, `value="&#34;&gt;&lt;b&gt;"`) {
		t.Error("the search box does not hold the query, escaped")
	}
}

// macsDown returns the MACs of discovered machines from down to to.
func macsDown(from, to int) []string {
	var out []string
	for i := from; i >= to; i-- {
		out = append(out, discovered(i).String())
	}
	return out
}

var stepSpan = regexp.MustCompile(`<span class="step ([a-z]+)" title="([^"]*)">([^<]*)`)

func TestStatusStepsShowOutcomeAndReason(t *testing.T) {
	s, st := newStatusServer(t)
	t0 := time.Now().Add(-time.Minute)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	for _, e := range []state.Event{
		{Time: at(0), Kind: state.KindDHCP, Outcome: state.OK, Detail: "offer 10.0.0.11"},
		{Time: at(2), Kind: state.KindMenu, Outcome: state.OK},
		{Time: at(3), Kind: state.KindAsset, Outcome: state.Error, Detail: "testos/vmlinuz: no such file"},
		{Time: at(5), Kind: state.KindFile, Outcome: state.OK, Detail: "preseed.cfg"},
		{Time: at(6), Kind: state.KindFile, Outcome: state.Refused, Detail: "preseed.cfg: wrong token"},
	} {
		e.MAC, e.Known = node1, true
		st.Record(e)
	}
	waitEvents(t, st, node1, 5)
	_, body := do(t, s.Handler(), "GET", "/status/rows", "")
	type span struct{ Class, Title, Text string }
	var got []span
	for _, m := range stepSpan.FindAllStringSubmatch(body, -1) {
		got = append(got, span{m[1], html.UnescapeString(m[2]), strings.TrimSpace(m[3])})
	}
	want := []span{
		{"ok", "DHCP ok at " + when(at(0)) + " — offer 10.0.0.11", "DHCP"},
		{"ok", "menu ok at " + when(at(2)), "menu"},
		{"error", "kernel error at " + when(at(3)) + " — testos/vmlinuz: no such file", "kernel"},
		// The step's first event was fine; the reason is the refusal's.
		{"refused", "answer file refused at " + when(at(5)) + " — preseed.cfg: wrong token", "answer file"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if _, page := do(t, s.Handler(), "GET", "/", ""); !strings.Contains(page, "Legend") || !strings.Contains(page, `<span class="step refused">refused</span>`) {
		t.Error("the page has no legend with the refused style")
	}
}

// BenchmarkStatusPage renders / over 12,000 discovered machines, what a
// DHCP flood of made-up MACs leaves in the store.
func BenchmarkStatusPage(b *testing.B) {
	s, st := newStatusServer(b)
	const n, chunk = 12000, 3000 // chunks stay below the store's write queue
	for i := range n {
		j := i * 7919 % n // made-up MACs come in no order
		st.Record(state.Event{MAC: hw.MAC{2, 0, 1, byte(j >> 16), byte(j >> 8), byte(j)}, Kind: state.KindDHCP, Outcome: state.OK})
		if i%chunk == chunk-1 {
			waitMachines(b, st, i+1)
		}
	}
	h := s.Handler()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != 200 {
			b.Fatalf("GET / = %d", rec.Code)
		}
	}
}

// waitMachines waits for the store to hold n machines.
func waitMachines(t testing.TB, st *state.Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, total, err := st.Recent(0, state.Filter{})
		if err == nil && total >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d machines in the store, want %d (%v)", total, n, err)
		}
	}
}

// TestStatusShowsIPv6 shows a dual-stack machine's addresses of both
// families, on the page, its own page and in the search text; a
// link-local address is not one it is reached at.
func TestStatusShowsIPv6(t *testing.T) {
	s, st := newStatusServer(t)
	t0 := time.Now().Add(-time.Minute)
	for i, ip := range []string{"10.0.0.11", "fd42:231::105", "fe80::5054:ff:fe00:1"} {
		st.Record(state.Event{Time: t0.Add(time.Duration(i) * time.Second), MAC: node1, Kind: state.KindDHCP,
			Outcome: state.OK, Known: true, IP: netip.MustParseAddr(ip), Detail: "DHCPv6 REQUEST → reply"})
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m, err := st.Machine(node1); err == nil && m.LastIP6.IsValid() {
			if m.LastIP.String() != "10.0.0.11" || m.LastIP6.String() != "fd42:231::105" {
				t.Fatalf("machine addresses %s and %s", m.LastIP, m.LastIP6)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the IPv6 event never reached the machine")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, body := do(t, s.Handler(), "GET", "/", "")
	if !strings.Contains(body, "10.0.0.11<br>fd42:231::105") || !strings.Contains(body, "fd42:231::105 ") && !strings.Contains(body, " fd42:231::105") {
		t.Errorf("status page lacks both addresses:\n%s", body)
	}
	_, page := do(t, s.Handler(), "GET", "/machines/"+node1.URL(), "")
	if !strings.Contains(page, `<dt>Last IPv6 address</dt><dd class="mono">fd42:231::105</dd>`) {
		t.Errorf("machine page lacks its IPv6 address")
	}
}
