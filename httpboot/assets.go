package httpboot

import (
	"errors"
	"io/fs"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// assetRoutes declares the static file routes: the assets directory and
// the TFTP files (for UEFI HTTP Boot clients).
func (s *Server) assetRoutes(r chi.Router) {
	r.Get("/assets/*", s.files(func() fs.FS { return s.Assets }))
	r.Head("/assets/*", s.files(func() fs.FS { return s.Assets }))
	r.Get("/tftp/*", s.files(func() fs.FS { return s.TFTP }))
	r.Head("/tftp/*", s.files(func() fs.FS { return s.TFTP }))
}

// files serves regular files from the fs.FS root returns, with Range and
// conditional requests through http.ServeContent. Directories, paths that
// leave the root and missing files are 404; there are no listings.
func (s *Server) files(root func() fs.FS) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fsys := root()
		name := chi.URLParam(r, "*")
		if fsys == nil || !fs.ValidPath(name) || name == "." {
			http.NotFound(w, r)
			return
		}
		f, err := fsys.Open(name)
		if err != nil {
			s.fileError(w, r, name, err)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		if rs, ok := f.(interface {
			Read([]byte) (int, error)
			Seek(int64, int) (int64, error)
		}); ok {
			// *os.File from an os.Root lets ServeContent use sendfile.
			http.ServeContent(w, r, name, st.ModTime(), rs)
			return
		}
		s.fail(w, r, http.StatusInternalServerError, "serve "+name, errors.New("file is not seekable"))
	}
}

func (s *Server) fileError(w http.ResponseWriter, r *http.Request, name string, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	// os.Root refuses paths and symlinks leading outside the root.
	logger(r).Warn("http: file refused", "path", name, "err", err)
	http.NotFound(w, r)
}
