package httpboot

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

func TestMachinePage(t *testing.T) {
	s, st := newStatusServer(t)
	t0 := time.Now().Add(-time.Hour)
	ip := netip.MustParseAddr("10.0.0.11")
	for i, e := range []state.Event{
		{Kind: state.KindDHCP, Outcome: state.OK, Detail: "offer 10.0.0.11", IP: ip, Arch: hw.ArchEFIx64},
		{Kind: state.KindMenu, Outcome: state.OK, IP: ip},
		{Kind: state.KindFile, Outcome: state.Refused, Detail: "preseed.cfg: wrong token", IP: ip},
		{Kind: state.KindFile, Outcome: state.Error, Detail: "<script>alert(1)</script>", IP: ip},
	} {
		e.Time, e.MAC, e.Known = t0.Add(time.Duration(i)*time.Second), node1, true
		st.Record(e)
	}
	waitEvents(t, st, node1, 4)
	st.Record(state.Event{MAC: discovered(1), Kind: state.KindDHCP, Outcome: state.OK})
	waitEvents(t, st, discovered(1), 1)

	tests := map[string]struct {
		path     string
		code     int
		has      []string
		events   []string // the event details, in page order
		notHaves []string
	}{
		"a listed machine that booted": {
			path: "/machines/52-54-00-00-00-01", code: 200,
			has: []string{"<h2>node1 <span class=\"badge assigned\">assigned</span></h2>", `<dd class="mono">52:54:00:00:00:01</dd>`,
				`<span class="label">rack1</span>`, "<dt>Group</dt><dd>rack1</dd>", `<dd class="mono">10.0.0.11</dd>`, "<dd>efi-x64</dd>",
				`<span class="step error" title="answer file error at`, "&lt;script&gt;alert(1)&lt;/script&gt;"},
			events:   []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "preseed.cfg: wrong token", "", "offer 10.0.0.11"},
			notHaves: []string{"<script>alert(1)"},
		},
		"a listed machine not seen yet": {
			path: "/machines/52:54:00:00:00:02", code: 200,
			has: []string{"<h2>node2 <span class=\"badge assigned\">assigned</span></h2>", "No event recorded."},
		},
		"a discovered machine, named by its MAC": {
			path: "/machines/02-00-00-01-00-01", code: 200,
			has:    []string{"<h2>02:00:00:01:00:01 <span class=\"badge discovered\">discovered</span></h2>", "not in machines.yaml"},
			events: []string{""},
		},
		"neither seen nor listed": {
			path: "/machines/02-00-00-01-00-99", code: 404,
			has: []string{"Unknown machine", "No machine 02:00:00:01:00:99 has booted here"},
		},
		"a bad MAC": {
			path: "/machines/%3Cb%3Enope", code: 400,
			has: []string{"Not a MAC address", "invalid MAC address &#34;&lt;b&gt;nope&#34;"}, notHaves: []string{"<b>nope"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
			body := rec.Body.String()
			if rec.Code != tc.code || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("GET %s = %d %s, want %d html:\n%s", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.code, body)
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("GET %s lacks %s", tc.path, s)
				}
			}
			for _, s := range tc.notHaves {
				if strings.Contains(body, s) {
					t.Errorf("GET %s has %s", tc.path, s)
				}
			}
			if tc.events != nil {
				if diff := cmp.Diff(tc.events, eventDetails(body)); diff != "" {
					t.Errorf("GET %s events, newest first (-want +got):\n%s", tc.path, diff)
				}
			}
		})
	}
	// The status page links each row to its machine's page.
	if _, body := do(t, s.Handler(), "GET", "/", ""); !strings.Contains(body, `href="/machines/02-00-00-01-00-01"`) {
		t.Error("the status page does not link the discovered machine to its page")
	}
}

// TestMachinePageBoundsEvents: the page lists the latest 200 events.
func TestMachinePageBoundsEvents(t *testing.T) {
	s, st := newStatusServer(t)
	t0 := time.Now().Add(-time.Hour)
	for i := range 250 {
		st.Record(state.Event{Time: t0.Add(time.Duration(i) * time.Second), MAC: node2, Kind: state.KindMenu, Outcome: state.OK, Detail: fmt.Sprint("fetch ", i)})
	}
	waitEvents(t, st, node2, 250)
	_, body := do(t, s.Handler(), "GET", "/machines/52-54-00-00-00-02", "")
	got := eventDetails(body)
	if len(got) != pageEvents || got[0] != "fetch 249" || got[len(got)-1] != "fetch 50" || !strings.Contains(body, "the latest 200") {
		t.Errorf("%d events from %q to %q, want 200 from fetch 249 to fetch 50", len(got), got[0], got[len(got)-1])
	}
}

var eventRow = regexp.MustCompile(`</span></td><td>([^<]*)</td>`)

// eventDetails returns the details of the events in a machine page.
func eventDetails(body string) []string {
	var out []string
	for _, m := range eventRow.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}
