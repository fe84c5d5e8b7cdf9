package httpboot

import (
	"bytes"
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/bootwright/bootwright/internal/bootconfig"
)

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"ago":   ago,
	"dur":   shortDuration,
	"stage": stageName,
}).Parse(statusHTML))

// statusData is what the status page shows.
type statusData struct {
	Config   bootconfig.Status
	Machines []MachineView // the most recently seen
	More     int           // machines left out of the page
}

// statusPage serves the status page at /.
func (s *Server) statusPage(w http.ResponseWriter, r *http.Request) {
	s.renderStatus(w, r, "page")
}

// statusRows serves the table rows the page fetches to stay current.
func (s *Server) statusRows(w http.ResponseWriter, r *http.Request) {
	s.renderStatus(w, r, "rows")
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, name string) {
	views, err := s.machineViews(maxTimelines)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "status page", err)
		return
	}
	st := s.Boot.Config.Status()
	st.Source = cmp.Or(st.Source, "embedded defaults")
	more := 0
	if len(views) > maxTimelines {
		views, more = views[:maxTimelines], len(views)-maxTimelines
	}
	var buf bytes.Buffer
	if err := statusTemplate.ExecuteTemplate(&buf, name, statusData{Config: st, Machines: views, More: more}); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "status page", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// ago says how long ago t was, roughly: "12s ago", "5m ago", "3h ago".
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return shortDuration(time.Since(t)) + " ago"
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

// stageName is what the page calls each kind of boot step.
func stageName(kind string) string {
	switch kind {
	case "dhcp":
		return "DHCP"
	case "tftp":
		return "NBP"
	case "asset":
		return "kernel"
	case "file":
		return "answer file"
	case "callback":
		return "installed"
	}
	return kind
}
