package httpboot

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/route"
	"github.com/bootwright/bootwright/internal/state"
)

// apiRoutes declares the JSON API. Reads are open (the status page uses
// them); reinstall needs the bearer token; installed needs the machine's
// own callback token.
func (s *Server) apiRoutes(r chi.Router) {
	r.Route(route.API, func(r chi.Router) {
		r.Use(s.limitRate)
		r.Get(route.APIMachines, s.apiMachines)
		r.Get(route.APIMachine, s.apiMachine)
		r.Get(route.APIEvents, s.apiEvents)
		r.Get(route.APIStats, s.apiStats)
		r.With(s.requireToken).Post(route.APIReinstall, s.apiReinstall)
		// Installers call back with what they have: curl and PowerShell
		// can POST, busybox wget in the Debian installer only GETs.
		r.Post(route.APIInstalled, s.apiInstalled)
		r.Get(route.APIInstalled, s.apiInstalled)
	})
}

// maxTimelines bounds the machines a listing reads timelines for.
const maxTimelines = 200

// MachineView is a machine as the API and the status page show it: what
// the store recorded merged with what machines.yaml says.
type MachineView struct {
	state.Machine
	Known    bool          `json:"known"` // listed in machines.yaml
	Group    string        `json:"group,omitempty"`
	Labels   []string      `json:"labels,omitempty"`
	Timeline []state.Stage `json:"timeline,omitempty"`
}

// machineViews lists, for the API, every machine the store has seen and
// every listed machine that has not booted yet, most recently seen first;
// with a timeline for the first timelines of them (each costs a read).
// The status page lists a bounded selection instead (statusListing).
func (s *Server) machineViews(timelines int) ([]MachineView, error) {
	ms, err := s.Boot.State.Machines()
	if err != nil {
		return nil, err
	}
	cfg := s.Boot.Config.Load().Menus
	seen := map[hw.MAC]bool{}
	var out []MachineView
	add := func(m state.Machine) {
		v := viewOf(m, cfg.Machines[m.MAC])
		if len(out) < timelines {
			if ev, err := s.Boot.State.Events(m.MAC, timelineEvents); err == nil {
				v.Timeline = state.Timeline(ev)
			}
		}
		out = append(out, v)
		seen[m.MAC] = true
	}
	for _, m := range ms {
		add(m)
	}
	for _, m := range cfg.MachineList() {
		if !seen[m.MAC.MAC] {
			add(state.Machine{MAC: m.MAC.MAC})
		}
	}
	return out, nil
}

func (s *Server) apiMachines(w http.ResponseWriter, r *http.Request) {
	n := 0
	if r.URL.Query().Get("timeline") == "1" {
		n = maxTimelines
	}
	views, err := s.machineViews(n)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "list machines", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"machines": views})
}

// apiMAC parses the MAC in the URL; 400 on a bad one, 404 for a machine
// neither seen nor listed.
func (s *Server) apiMAC(w http.ResponseWriter, r *http.Request) (hw.MAC, bool, bool) {
	mac, err := hw.ParseMAC(chi.URLParam(r, route.ParamMAC))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return mac, false, false
	}
	_, known := s.Boot.Config.Load().Menus.Machines[mac]
	if _, err := s.Boot.State.Machine(mac); errors.Is(err, state.ErrUnknownMachine) && !known {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown machine " + mac.String()})
		return mac, false, false
	}
	return mac, known, true
}

func (s *Server) apiMachine(w http.ResponseWriter, r *http.Request) {
	mac, _, ok := s.apiMAC(w, r)
	if !ok {
		return
	}
	m, err := s.Boot.State.Machine(mac)
	if err != nil && !errors.Is(err, state.ErrUnknownMachine) {
		s.fail(w, r, http.StatusInternalServerError, "read machine", err)
		return
	}
	m.MAC = mac
	v := MachineView{Machine: m}
	if c := s.Boot.Config.Load().Menus.Machines[mac]; c != nil {
		v.Known, v.Name, v.Labels = true, c.Name, c.Labels
		if v.State == "" {
			v.State = state.Assigned
		}
	}
	if ev, err := s.Boot.State.Events(mac, 200); err == nil {
		v.Timeline = state.Timeline(ev)
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	mac, _, ok := s.apiMAC(w, r)
	if !ok {
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 10000 {
		limit = 500
	}
	ev, err := s.Boot.State.Events(mac, limit)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "read events", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"mac": mac, "events": ev, "timeline": state.Timeline(ev)})
}

func (s *Server) apiReinstall(w http.ResponseWriter, r *http.Request) {
	mac, known, ok := s.apiMAC(w, r)
	if !ok {
		return
	}
	m, err := s.Boot.State.Reinstall(mac, known)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "reinstall "+mac.String(), err)
		return
	}
	logger(r).Info("http: machine re-armed for install", "mac", mac)
	writeJSON(w, http.StatusOK, m)
}

// apiInstalled is the installer's callback. The token in the URL must be
// this machine's; anything else is 403 and recorded.
func (s *Server) apiInstalled(w http.ResponseWriter, r *http.Request) {
	mac, err := hw.ParseMAC(chi.URLParam(r, route.ParamMAC))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if ok, why := s.Boot.CallbackAllowed(mac, r.URL.Query().Get("token")); !ok {
		logger(r).Warn("http: install callback refused", "mac", mac.String(), "reason", why)
		s.record(r, mac, state.KindCallback, state.Refused, why)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "callback for " + mac.String() + " refused: " + why})
		return
	}
	_, known := s.Boot.Config.Load().Menus.Machines[mac]
	m, err := s.Boot.State.Installed(mac, remoteAddr(r), known)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "mark "+mac.String()+" installed", err)
		return
	}
	logger(r).Info("http: machine installed", "mac", mac)
	writeJSON(w, http.StatusOK, m)
}

// requireToken lets a request through only with the API bearer token.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if s.APIToken == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.APIToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bootwright"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "this call needs the API token (serve --api-token)"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"encoding"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
