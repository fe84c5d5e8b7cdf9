package httpboot

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/route"
	"github.com/bootwright/bootwright/internal/state"
)

//go:embed status.html machine.html
var pageFiles embed.FS

// pages holds the status page ("page", "rows"), the machine page
// ("machine") and the error page ("problem"), which share a style sheet
// and the rendering of a boot's steps.
var pages = template.Must(template.New("pages").Funcs(template.FuncMap{
	"ago":        ago,
	"dur":        shortDuration,
	"stage":      stageName,
	"when":       when,
	"outcome":    outcomeClass,
	"tip":        stepTip,
	"search":     searchText,
	"machineURL": route.MachinePagePath,
	"chart":      chartOf,
	"timeBars":   timeBars,
	"pct":        func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
}).ParseFS(pageFiles, "status.html", "machine.html"))

// statusData is what the status page shows: the machines matching Query,
// those in machines.yaml first.
type statusData struct {
	Config          bootconfig.Status
	Query           string
	Listed          []row // in machines.yaml, in file order
	ListedTotal     int   // machines in machines.yaml, matching or not
	Discovered      []row // the others, most recently seen first
	DiscoveredTotal int   // the others matching Query
	More            int   // of those, how many are left out
	Charts          chartsData
}

// chartsData is the status page's charts, or why they cannot be drawn.
type chartsData struct {
	Stats bootStats
	Err   string
}

// statusPage serves the status page at /; ?q= searches every machine.
func (s *Server) statusPage(w http.ResponseWriter, r *http.Request) {
	s.renderStatus(w, r, "page")
}

// statusRows serves the table rows the page fetches to stay current, for
// the same ?q=.
func (s *Server) statusRows(w http.ResponseWriter, r *http.Request) {
	s.renderStatus(w, r, "rows")
}

// statusCharts serves the page's charts, which it fetches to stay current.
func (s *Server) statusCharts(w http.ResponseWriter, r *http.Request) {
	s.writePage(w, r, http.StatusOK, "charts", s.charts())
}

func (s *Server) charts() chartsData {
	st, err := s.bootStats()
	if err != nil {
		return chartsData{Err: err.Error()}
	}
	return chartsData{Stats: st}
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, name string) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > maxQuery {
		q = strings.ToValidUTF8(q[:maxQuery], "")
	}
	d, err := s.statusListing(q)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "status page", err)
		return
	}
	d.Config = s.configStatus()
	if name == "page" {
		d.Charts = s.charts()
	}
	s.writePage(w, r, http.StatusOK, name, d)
}

func (s *Server) configStatus() bootconfig.Status {
	st := s.Boot.Config.Status()
	st.Source = cmp.Or(st.Source, "embedded defaults")
	return st
}

// writePage renders the page name into a buffer and sends it with code;
// a template that fails is a 500, never half a page.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "render "+name+" page", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// ago says how long ago t was, roughly: "12s ago", "5m ago", "3h ago".
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return shortDuration(time.Since(t)) + " ago"
}

// when writes a time to the second, in the server's time zone.
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func shortDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// stageName is what the pages call each kind of boot step.
func stageName(kind string) string {
	switch kind {
	case state.KindDHCP:
		return "DHCP"
	case state.KindTFTP:
		return "NBP"
	case state.KindAsset:
		return "kernel"
	case state.KindFile:
		return "answer file"
	case state.KindCallback:
		return "installed"
	}
	return kind
}

// outcomeClass is the style of an outcome: ok, refused (bootwright said
// no) or error (something failed); an outcome it does not know is an
// error.
func outcomeClass(outcome string) string {
	switch outcome {
	case state.OK, state.Refused:
		return outcome
	}
	return state.Error
}

// stepTip is a step's tooltip: what, how, when and why, on one line
// (scripts grep the page): "answer file refused at 2026-11-25 10:00:01
// — preseed.cfg: wrong token".
func stepTip(st step) string {
	tip := fmt.Sprintf("%s %s at %s", stageName(st.Kind), st.Outcome, when(st.Time))
	if st.Reason != "" {
		tip += " — " + strings.Join(strings.Fields(st.Reason), " ")
	}
	return tip
}
