package httpboot

import (
	"errors"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/route"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/menus"
)

// pageEvents is how many of a machine's latest events its page lists.
const pageEvents = 200

// machineData is what a machine's page shows.
type machineData struct {
	Config  bootconfig.Status
	Row     row
	Listed  *menus.Machine // its entry in machines.yaml, nil if none
	Events  []state.Event  // its latest events, newest first
	Limited bool           // older events are left out
	APIPath string         // the same machine as JSON
}

// problemData is what the error page shows.
type problemData struct {
	Config  bootconfig.Status
	Code    int
	Title   string
	Message string
}

// machinePage serves /machines/{mac}: one machine with everything the
// store and machines.yaml say of it, and its latest events. A bad MAC is
// 400, a MAC neither seen nor listed 404.
func (s *Server) machinePage(w http.ResponseWriter, r *http.Request) {
	mac, err := hw.ParseMAC(chi.URLParam(r, route.ParamMAC))
	if err != nil {
		s.problem(w, r, http.StatusBadRequest, "Not a MAC address", err.Error())
		return
	}
	cfg := s.Boot.Config.Load().Menus
	listed := cfg.Machines[mac]
	m, err := s.Boot.State.Machine(mac)
	switch {
	case errors.Is(err, state.ErrUnknownMachine) && listed == nil:
		s.problem(w, r, http.StatusNotFound, "Unknown machine",
			"No machine "+mac.String()+" has booted here, and machines.yaml does not list it.")
		return
	case errors.Is(err, state.ErrUnknownMachine):
		m = state.Machine{MAC: mac}
	case err != nil:
		s.fail(w, r, http.StatusInternalServerError, "read machine "+mac.String(), err)
		return
	}
	ev, err := s.Boot.State.Events(mac, pageEvents+1)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "read events of "+mac.String(), err)
		return
	}
	d := machineData{Config: s.configStatus(), Listed: listed, APIPath: route.MachineAPIPath(mac, "")}
	if len(ev) > pageEvents {
		ev, d.Limited = ev[1:], true
	}
	v := viewOf(m, listed)
	v.Group = cfg.GroupOf(mac, m.Arch, m.LastIP)
	v.Timeline = state.Timeline(ev)
	d.Row = row{MachineView: v, Steps: stepsOf(v.Timeline)}
	slices.Reverse(ev)
	d.Events = ev
	s.writePage(w, r, http.StatusOK, "machine", d)
}

// problem answers with the error page.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, code int, title, msg string) {
	s.writePage(w, r, code, "problem", problemData{Config: s.configStatus(), Code: code, Title: title, Message: msg})
}
