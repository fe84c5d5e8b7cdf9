package httpboot

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/internal/token"
	"github.com/bootwright/bootwright/menus"
)

// record stores a boot event for the request's machine: the MAC given,
// else the one last seen at the client's address. Events that cannot be
// tied to a machine are not stored.
func (s *Server) record(r *http.Request, mac string, kind, outcome, detail string) {
	s.recordArch(r, mac, "", kind, outcome, detail)
}

// recordArch is record with the client arch, when the request says it.
func (s *Server) recordArch(r *http.Request, mac, arch string, kind, outcome, detail string) {
	if s.State == nil {
		return
	}
	ip := remoteAddr(r).String()
	if mac == "" {
		var ok bool
		if mac, ok = s.State.MACFor(ip); !ok {
			return
		}
	}
	_, known := s.Config.Load().Menus.Machines[mac]
	s.State.Record(state.Event{MAC: mac, Kind: kind, Outcome: outcome, Detail: detail, IP: ip, Arch: arch, Known: known})
}

// outcomeOf names an HTTP status as an event outcome.
func outcomeOf(status int) string {
	switch {
	case status < 400:
		return state.OK
	case status == http.StatusForbidden || status == http.StatusNotFound || status == http.StatusTooManyRequests:
		return state.Refused
	}
	return state.Error
}

// assetEvents records each asset download (kernel, initrd, ...) as an
// event of the machine at the client's address.
func (s *Server) assetEvents(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.State == nil || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		ww, ok := w.(middleware.WrapResponseWriter)
		if !ok {
			ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		}
		next.ServeHTTP(ww, r)
		detail := r.URL.Path + " " + strconv.Itoa(ww.Status())
		if ww.Status() < 400 {
			detail = r.URL.Path + " " + strconv.Itoa(ww.BytesWritten()) + " bytes"
		}
		s.record(r, "", state.KindAsset, outcomeOf(ww.Status()), detail)
	})
}

// machineState fills in the request's recorded install state and the
// installer callback URL, when the server keeps state.
func (s *Server) machineState(req *menus.Request) {
	if s.State == nil {
		return
	}
	mac := req.MAC.String()
	req.State = s.State.StateOf(mac)
	t := s.tokensFor(mac)
	req.Callback, req.FileToken = t.callback, t.files
}

// machineTokens are a machine's callback URL and file token; they depend
// only on the MAC and the store's secret, so they are made once.
type machineTokens struct{ callback, files string }

func (s *Server) tokensFor(mac string) machineTokens {
	if v, ok := s.tokens.Load(mac); ok {
		return v.(machineTokens)
	}
	signer := token.Signer{Key: s.State.Secret()}
	t := machineTokens{
		callback: s.PublicURL + "/api/v1/machines/" + strings.ReplaceAll(mac, ":", "-") + "/installed?token=" + signer.Sign(token.Installed, mac),
		files:    signer.Sign(token.Files, mac),
	}
	s.tokens.Store(mac, t)
	return t
}

// fileAllowed says whether the request may have mac's per-machine files:
// always when they are open or the server keeps no state to check with;
// else when the URL's token is mac's, or the request comes from the
// address DHCP gave or saw for mac.
func (s *Server) fileAllowed(r *http.Request, mac string, d *menus.Data) (bool, string) {
	if s.State == nil || d.FileAccess == menus.FileAccessOpen {
		return true, ""
	}
	if tok := chi.URLParam(r, "token"); tok != "" {
		if (token.Signer{Key: s.State.Secret()}).Verify(token.Files, mac, tok) {
			return true, ""
		}
		return false, "wrong token"
	}
	ip := remoteAddr(r).String()
	if leased, ok := s.State.DHCPAddr(mac); ok && leased == ip {
		return true, ""
	}
	return false, "request from " + ip + ", which DHCP did not give or see for " + mac + ", and no token"
}
