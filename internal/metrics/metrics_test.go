package metrics

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetrics(t *testing.T) {
	m := New()
	m.Reloaded(errors.New("bad"))
	m.HTTP("/ipxe/{mac}", 200, time.Millisecond)
	m.RenderErrors.WithLabelValues("menu").Inc()
	t0 := time.Now()
	ev := func(s int, kind string) state.Event {
		return state.Event{Time: t0.Add(time.Duration(s) * time.Second), MAC: hw.MAC{2}, Kind: kind, Outcome: state.OK}
	}
	for _, e := range []state.Event{ev(0, "dhcp"), ev(4, "dhcp"), ev(5, "tftp"), ev(12, "menu"), ev(13, "asset"), ev(14, "asset"), ev(40, "file")} {
		m.ObserveEvent(e, state.Machine{})
	}
	out := scrape(t, m)
	for _, want := range []string{
		`bootwright_config_reloads_total{result="error"} 1`,
		"bootwright_config_last_reload_ok 0",
		`bootwright_http_requests_total{code="200",route="/ipxe/{mac}"} 1`,
		`bootwright_render_errors_total{kind="menu"} 1`,
		`bootwright_boot_stage_seconds_sum{from="dhcp",to="tftp"} 5`,
		`bootwright_boot_stage_seconds_sum{from="tftp",to="menu"} 7`,
		`bootwright_boot_stage_seconds_sum{from="menu",to="asset"} 1`,
		`bootwright_boot_stage_seconds_sum{from="asset",to="file"} 27`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
