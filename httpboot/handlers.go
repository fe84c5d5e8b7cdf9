package httpboot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/route"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/menus"
)

// ipxeToken is what iPXE's ${buildarch} and ${platform} expand to
// (x86_64, i386, arm64, pcbios, efi); anything else is dropped.
var ipxeToken = regexp.MustCompile(`^[a-z0-9_]{1,16}$`)

// machineFile serves a per-machine file (kickstart, preseed, autoinstall
// user-data, unattend.xml, ...) rendered for the MAC in the URL. A file
// the machine's menu does not list, or that has no template, is 404 with
// the reason logged.
func (s *Server) machineFile(w http.ResponseWriter, r *http.Request) {
	req, log, ok := s.request(w, r)
	if !ok {
		return
	}
	name := chi.URLParam(r, "*")
	if !fs.ValidPath(name) || name == "." {
		http.Error(w, "invalid file name", http.StatusBadRequest)
		return
	}
	log = log.With("file", name)
	// Access first: a request that may not have the machine's files costs
	// no render, and learns nothing about which files exist.
	tok := chi.URLParam(r, route.ParamToken)
	if ok, why := s.Boot.FileAllowed(req, tok); !ok {
		log.Warn("http: file refused", "reason", why)
		s.record(r, req.MAC, state.KindFile, state.Refused, name+": "+why)
		http.Error(w, "forbidden: this file is served only to its machine: "+why, http.StatusForbidden)
		return
	}
	if tok != "" {
		req = s.Boot.WithFileToken(req, tok)
	}
	out, d, err := s.Boot.RenderFile(name, req)
	switch {
	case errors.Is(err, bootconfig.ErrFileNotAllowed), errors.Is(err, bootconfig.ErrNoSuchFile):
		log.Warn("http: file refused", "reason", err)
		s.record(r, req.MAC, state.KindFile, state.Refused, name+": "+err.Error())
		http.NotFound(w, r)
		return
	case err != nil:
		s.record(r, req.MAC, state.KindFile, state.Error, name+": render failed")
		s.renderError("file")
		s.fail(w, r, http.StatusInternalServerError, "render file for machine "+machineName(d), err)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "text/plain; charset=utf-8"
	}
	// Only a file the machine got moves it to installing.
	if err := writeBody(w, ctype, out); err != nil {
		log.Warn("http: file not sent", "machine", d.Machine.Name, "err", err)
		s.record(r, req.MAC, state.KindFile, state.Error, name+": not sent: "+err.Error())
		return
	}
	s.record(r, req.MAC, state.KindFile, state.OK, name)
	log.Info("http: file served", "machine", d.Machine.Name, "bytes", len(out))
}

// bootScript serves the script DHCP hands to iPXE clients.
func (s *Server) bootScript(w http.ResponseWriter, r *http.Request) {
	out, err := s.Boot.Config.Load().RenderBootScript(s.Boot.ServerFor(remoteAddr(r)))
	if err != nil {
		s.record(r, hw.MAC{}, state.KindMenu, state.Error, "boot.ipxe: "+err.Error())
		s.renderError("script")
		s.fail(w, r, http.StatusInternalServerError, "render boot script", err)
		return
	}
	s.record(r, hw.MAC{}, state.KindMenu, state.OK, "boot.ipxe")
	writeScript(w, out)
}

// request parses the MAC in the URL and the iPXE arch and platform in the
// query, and asks the boot policy for the request data, writing 400 and
// returning false on a bad MAC.
func (s *Server) request(w http.ResponseWriter, r *http.Request) (menus.Request, *slog.Logger, bool) {
	mac, err := hw.ParseMAC(chi.URLParam(r, route.ParamMAC))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return menus.Request{}, nil, false
	}
	c := boot.Client{MAC: mac, Addr: remoteAddr(r)}
	if v := r.URL.Query().Get("arch"); ipxeToken.MatchString(v) {
		c.BuildArch = v
	}
	if v := r.URL.Query().Get("platform"); ipxeToken.MatchString(v) {
		c.Platform = v
	}
	c.Arch = hw.ArchFromIPXE(c.BuildArch, c.Platform)
	req := s.Boot.Request(c)
	log := logger(r).With("mac", mac.String(), "arch", req.Arch.String())
	return req, log, true
}

// renderMenu returns the machine's rendered iPXE menu, from the cache when
// nothing it depends on has changed since it was last rendered.
func (s *Server) renderMenu(req menus.Request) (*renderedMenu, error) {
	b := s.Boot.Config.Load()
	dirs, gen := s.Boot.AssetDirs()
	key := menuKey(req)
	if rm := s.menus.get(b, gen, key); rm != nil {
		return rm, nil
	}
	out, d, err := b.RenderMenu(bootconfig.IPXEMenu, req, s.Boot.ServerFor(req.ClientIP), dirs)
	rm := &renderedMenu{body: out, data: d}
	if err != nil {
		return rm, err
	}
	s.menus.put(b, gen, key, rm)
	return rm, nil
}

// ipxeMenu serves one machine's menu; an unknown MAC gets the default.
func (s *Server) ipxeMenu(w http.ResponseWriter, r *http.Request) {
	req, log, ok := s.request(w, r)
	if !ok {
		return
	}
	rm, err := s.renderMenu(req)
	if err != nil {
		s.record(r, req.MAC, state.KindMenu, state.Error, "menu: render failed")
		s.renderError("menu")
		s.fail(w, r, http.StatusInternalServerError, "render menu for machine "+machineName(rm.data), err)
		return
	}
	out, d := rm.body, rm.data
	s.recordArch(r, req.MAC, req.Arch, state.KindMenu, state.OK, "menu "+d.Menu.Name+", default "+d.Menu.Default)
	for _, n := range d.Notes {
		log.Warn("http: menu note", "note", n)
	}
	for _, e := range d.Errors {
		log.Error("http: menu entry left out", "machine", d.Machine.Name, "err", e)
		s.renderError("entry")
	}
	log.Info("http: menu served", "machine", d.Machine.Name, "known", d.Machine.Known, "menu", d.Menu.Name, "default", d.Menu.Default)
	writeScript(w, out)
}

// health is the /healthz body.
type health struct {
	Status string       `json:"status"` // "ok", or "degraded" (an older config serves, or the state store has a problem)
	Config healthConfig `json:"config"`
	State  string       `json:"state_error,omitempty"`
}

type healthConfig struct {
	Source    string    `json:"source"`
	Commit    string    `json:"commit,omitempty"`
	LoadedAt  time.Time `json:"loaded_at"`
	LastError string    `json:"last_error,omitempty"`
	FailedAt  time.Time `json:"failed_at,omitzero"`
}

// healthz reports whether the server runs on its newest config. It is 200
// either way, since a degraded server still serves every boot; monitoring
// should alert on "degraded".
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	st := s.Boot.Config.Status()
	h := health{Status: "ok", Config: healthConfig{Source: cmp.Or(st.Source, "embedded defaults"), Commit: st.Commit,
		LoadedAt: st.LoadedAt.UTC().Truncate(time.Second), LastError: st.LastError}}
	if st.Degraded() {
		h.Status = "degraded"
		h.Config.FailedAt = st.FailedAt.UTC().Truncate(time.Second)
	}
	if s.Boot.State != nil {
		if err := s.Boot.State.Health(); err != nil {
			h.Status, h.State = "degraded", err.Error()
		}
	}
	body, _ := json.MarshalIndent(h, "", "  ")
	writeBody(w, "application/json", append(body, '\n'))
}

// fail logs err once and answers with status, without details.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, what string, err error) {
	logger(r).Error("http: "+what, "err", err)
	http.Error(w, http.StatusText(status), status)
}

// machineName names the machine of d for logs, "?" when resolving failed.
func machineName(d *menus.Data) string {
	if d == nil {
		return "?"
	}
	return d.Machine.Name
}

func writeScript(w http.ResponseWriter, body []byte) {
	writeBody(w, "text/plain; charset=utf-8", body)
}

// writeBody writes a complete rendered body that must not be cached.
func writeBody(w http.ResponseWriter, ctype string, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	_, err := w.Write(body)
	return err
}

func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

type ctxKey struct{}

// reqLog is a request's logger, made when a handler first asks for it:
// most requests log only their closing line, which needs none.
type reqLog struct {
	base       *slog.Logger
	id, remote string
	once       sync.Once
	l          *slog.Logger
}

func (rl *reqLog) logger() *slog.Logger {
	rl.once.Do(func() { rl.l = rl.base.With("req", rl.id, "remote", rl.remote) })
	return rl.l
}

// logger returns the request's child logger.
func logger(r *http.Request) *slog.Logger {
	if rl, ok := r.Context().Value(ctxKey{}).(*reqLog); ok {
		return rl.logger()
	}
	return slog.New(slog.DiscardHandler)
}

// logRequests gives each request a child logger and logs it when done.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		rl := &reqLog{base: s.Logger, id: middleware.GetReqID(r.Context()), remote: host}
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), ctxKey{}, rl)))
		level := slog.LevelDebug
		if ww.Status() >= 400 || strings.HasPrefix(r.URL.Path, "/assets/") {
			level = slog.LevelInfo
		}
		d := time.Since(start)
		if s.Logger.Enabled(r.Context(), level) {
			s.Logger.Log(r.Context(), level, "http: request", "req", rl.id, "remote", host, "method", r.Method,
				"path", r.URL.Path, "status", ww.Status(), "bytes", ww.BytesWritten(), "duration", d.Round(time.Microsecond),
				"tls", r.TLS != nil)
		}
		if s.Metrics != nil {
			s.Metrics.HTTP(chi.RouteContext(r.Context()).RoutePattern(), ww.Status(), d)
		}
	})
}

// renderError counts a failed render of kind (menu, script, file).
func (s *Server) renderError(kind string) {
	if s.Metrics != nil {
		s.Metrics.RenderErrors.WithLabelValues(kind).Inc()
	}
}
