package httpboot

import (
	"net/http"
	"strings"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/route"
)

// menuFailed serves the script the iPXE menu chains when an entry did not
// boot (GET /ipxe/{mac}/failed?entry=LABEL&arch=&platform=): it names the
// entry and, for each of its files that this server's download cache
// failed to fetch, why (an upstream 404, a checksum that does not match
// the distribution's list, an HTML page instead of a kernel), so that the
// person at the console sees the reason the timeline records.
func (s *Server) menuFailed(w http.ResponseWriter, r *http.Request) {
	req, log, ok := s.request(w, r)
	if !ok {
		return
	}
	b := s.Boot.Config.Load()
	f := bootconfig.Failed{Server: s.Boot.Server(), MAC: req.MAC.String()}
	if s.Boot.State != nil {
		f.Timeline = f.Server.URL + route.MachinePagePath(req.MAC)
	}
	if rm, err := s.renderMenu(req); err == nil {
		if e := rm.data.Menu.Find(r.URL.Query().Get("entry")); e != nil {
			f.Entry, f.Title = e.Label, e.Title
			f.Reasons = s.cacheFailures(f.Server.URL, append([]string{e.Kernel}, e.InitrdURLs()...))
		}
	}
	out, err := b.RenderFailed(f)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "render failure script", err)
		return
	}
	log.Info("http: boot failure explained", "entry", f.Entry, "reasons", len(f.Reasons))
	writeScript(w, out)
}

// cacheFailures returns, for each of urls served by this server's cache,
// why its last fetch failed.
func (s *Server) cacheFailures(base string, urls []string) []string {
	if s.Boot.Cache == nil {
		return nil
	}
	var out []string
	for _, u := range urls {
		p, ok := strings.CutPrefix(u, base)
		if !ok || !strings.HasPrefix(p, route.CacheBase+"/") {
			continue
		}
		if err := s.Boot.Cache.Failure(p); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}
