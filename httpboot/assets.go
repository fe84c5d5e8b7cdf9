package httpboot

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bootwright/bootwright/internal/route"
	"github.com/go-chi/chi/v5"
)

// assetRoutes declares the static file routes: the assets directory, the
// TFTP files (for UEFI HTTP Boot clients) and the caching proxy. Each
// download counts against the client's concurrent stream cap.
func (s *Server) assetRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.limitStreams)
		assets := s.files(route.AssetsBase+"/", func() fs.FS { return s.Boot.Assets })
		r.Get(route.Assets, assets)
		r.Head(route.Assets, assets)
		tftp := s.files(route.TFTPBase+"/", func() fs.FS { return s.TFTP })
		r.Get(route.TFTP, tftp)
		r.Head(route.TFTP, tftp)
		r.Get(route.Cache, s.cached)
		r.Head(route.Cache, s.cached)
	})
}

// cached serves the caching proxy's files; without a Cache there are none.
func (s *Server) cached(w http.ResponseWriter, r *http.Request) {
	if s.Boot.Cache == nil {
		http.NotFound(w, r)
		return
	}
	s.Boot.Cache.ServeHTTP(w, r)
}

// files serves regular files under prefix from the fs.FS root returns.
// http.ServeContent does Range (single and multipart), HEAD and the
// conditional requests against the ETag and Last-Modified set here; an
// *os.File from an os.Root lets it send with sendfile(2). Files up to
// smallFileMax come from memory (smallfiles.go). Directories,
// missing files and paths that leave the root are 404, a NUL byte is
// 400; there are no listings.
func (s *Server) files(prefix string, root func() fs.FS) http.HandlerFunc {
	small := new(smallFiles)
	return func(w http.ResponseWriter, r *http.Request) {
		fsys := root()
		// r.URL.Path is already percent-decoded, so %2e%2e arrives as "..".
		name, _ := strings.CutPrefix(r.URL.Path, prefix)
		name = mergeSlashes(name)
		if err := checkName(name); err != nil {
			logger(r).Warn("http: path refused", "path", r.URL.Path, "err", err)
			status := http.StatusNotFound
			if errors.Is(err, errNUL) {
				status = http.StatusBadRequest
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
		if fsys == nil {
			http.NotFound(w, r)
			return
		}
		if e := small.get(fsys, name); e != nil {
			s.serveSmall(w, r, name, e)
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
		if e := small.load(name, f, st); e != nil {
			s.serveSmall(w, r, name, e)
			return
		}
		rs, ok := f.(io.ReadSeeker)
		if !ok {
			s.fail(w, r, http.StatusInternalServerError, "serve "+name, errors.New("file is not seekable"))
			return
		}
		serveContent(w, r, name, fileETag(st), st.ModTime(), rs)
	}
}

// serveSmall sends a small file from memory, in one segment if it fits.
func (s *Server) serveSmall(w http.ResponseWriter, r *http.Request, name string, e *smallFile) {
	corked(w, r, func() {
		serveContent(writerOnly{w}, r, name, e.etag, e.mod, bytes.NewReader(e.data))
	})
}

// serveContent sends one version of a file, from memory or from disk.
func serveContent(w http.ResponseWriter, r *http.Request, name, etag string, mod time.Time, rs io.ReadSeeker) {
	h := w.Header()
	if etag != "" {
		h.Set("ETag", etag)
	}
	h.Set("Content-Type", typeByExtension(name))
	http.ServeContent(w, r, name, mod, rs)
}

// writerOnly hides the ResponseWriter's ReadFrom, for bytes already in
// memory: through it, the connection's ReadFrom would flush the headers in
// a write of their own and copy the body with a fresh 32 KiB buffer.
type writerOnly struct{ http.ResponseWriter }

func (w writerOnly) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// mergeSlashes drops leading slashes and turns each run of slashes into
// one, as nginx does by default (merge_slashes): Debian's shim, loaded by
// UEFI HTTP Boot from /tftp/shimx64.efi, asks for /tftp//grubx64.efi.
func mergeSlashes(name string) string {
	name = strings.TrimLeft(name, "/")
	for strings.Contains(name, "//") {
		name = strings.ReplaceAll(name, "//", "/")
	}
	return name
}

var errNUL = errors.New("NUL byte in path")

// checkName accepts a relative, clean, slash-separated file name.
func checkName(name string) error {
	switch {
	case strings.IndexByte(name, 0) >= 0:
		return errNUL
	case name == "" || strings.HasSuffix(name, "/"):
		return errors.New("not a file")
	case strings.Contains(name, `\`):
		return errors.New("backslash in path")
	case !fs.ValidPath(name):
		return errors.New("path is not clean or leaves the root")
	}
	return nil
}

// fileETag is a strong validator derived without reading the file: size,
// modification time in nanoseconds and inode number (which changes when
// a file is replaced by rename, even with the same size and mtime), in
// hex. A file without a modification time (the embedded NBPs) gets none.
func fileETag(st fs.FileInfo) string {
	mt := st.ModTime()
	if mt.IsZero() || mt.Unix() <= 0 {
		return ""
	}
	b := make([]byte, 0, 48)
	b = append(b, '"')
	b = strconv.AppendInt(b, st.Size(), 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, mt.UnixNano(), 16)
	b = append(b, '-')
	b = strconv.AppendUint(b, inode(st), 16)
	return string(append(b, '"'))
}

// inode is st's inode number, 0 for a file not on a disk.
func inode(st fs.FileInfo) uint64 {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Ino
	}
	return 0
}

// bootTypes are the types of boot files mime does not know.
var bootTypes = map[string]string{
	".efi": "application/efi", ".ipxe": "text/plain; charset=utf-8", ".cfg": "text/plain; charset=utf-8",
	".iso": "application/x-iso9660-image", ".gz": "application/gzip", ".xz": "application/x-xz",
	".zst": "application/zstd",
}

// typeByExtension is the Content-Type for name. Like nginx's default_type,
// anything unknown (vmlinuz, initrd.img-6.1.0, undionly.kpxe) is
// application/octet-stream; not sniffing spares ServeContent a read and
// a seek on every request.
func typeByExtension(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := bootTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// fileError answers a failed open: 404 either way, logged when the root
// refused the path (a symlink or a name leading outside it).
func (s *Server) fileError(w http.ResponseWriter, r *http.Request, name string, err error) {
	if !errors.Is(err, fs.ErrNotExist) {
		logger(r).Warn("http: file refused", "path", name, "err", err)
	}
	http.NotFound(w, r)
}
