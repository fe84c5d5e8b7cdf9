package httpboot

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/route"
	"github.com/bootwright/bootwright/internal/state"
)

// record stores a boot event for the request's machine: the MAC given,
// else the one last seen at the client's address. Events that cannot be
// tied to a machine are not stored.
func (s *Server) record(r *http.Request, mac hw.MAC, kind, outcome, detail string) {
	s.recordArch(r, mac, hw.ArchUnknown, kind, outcome, detail)
}

// recordArch is record with the client arch, when the request says it.
func (s *Server) recordArch(r *http.Request, mac hw.MAC, arch hw.Arch, kind, outcome, detail string) {
	if s.Boot.State == nil || s.DryRun {
		return
	}
	ip := remoteAddr(r)
	if mac.IsZero() {
		var ok bool
		if mac, ok = s.Boot.State.MACFor(ip); !ok {
			return
		}
	}
	_, known := s.Boot.Config.Load().Menus.Machines[mac]
	s.Boot.State.Record(state.Event{MAC: mac, Kind: kind, Outcome: outcome, Detail: detail, IP: ip, Arch: arch, Known: known})
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
// event of the machine at the client's address. A download the cache cut
// (its upstream failed, or the file failed its checksum) is recorded as
// an error with the cache's reason, before the cut reaches the client.
func (s *Server) assetEvents(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Boot.State == nil || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		ww, ok := w.(middleware.WrapResponseWriter)
		if !ok {
			ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		}
		cut := true
		defer func() {
			if !cut {
				return
			}
			p := recover()
			detail := r.URL.Path + " cut after " + strconv.Itoa(ww.BytesWritten()) + " bytes"
			s.record(r, hw.MAC{}, state.KindAsset, state.Error, s.withCacheFailure(r.URL.Path, detail))
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(ww, r)
		cut = false
		detail := r.URL.Path + " " + strconv.Itoa(ww.Status())
		if ww.Status() < 400 {
			detail = r.URL.Path + " " + strconv.Itoa(ww.BytesWritten()) + " bytes"
		} else {
			detail = s.withCacheFailure(r.URL.Path, detail)
		}
		s.record(r, hw.MAC{}, state.KindAsset, outcomeOf(ww.Status()), detail)
	})
}

// withCacheFailure appends to detail why the cache failed to fetch the
// file at p, when p is one of its files and its last fetch failed.
func (s *Server) withCacheFailure(p, detail string) string {
	if s.Boot.Cache == nil || !strings.HasPrefix(p, route.CacheBase+"/") {
		return detail
	}
	if err := s.Boot.Cache.Failure(p); err != nil {
		return detail + ": " + err.Error()
	}
	return detail
}
