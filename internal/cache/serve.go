package cache

import (
	"cmp"
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// ServeHTTP serves GET/HEAD /cache/{key}/{name} for registered keys only
// (404 otherwise: never an open proxy). A complete file is served like a
// static file, with Range and conditional requests; one still being
// fetched is streamed as it arrives, whole (Range is ignored then).
func (c *Cache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := c.init(); err != nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	key, name, ok := splitPath(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	c.mu.Lock()
	e := c.idx.Entries[key]
	switch {
	case e == nil || e.Name != name:
		c.mu.Unlock()
		http.NotFound(w, r)
		return
	case c.closed:
		c.mu.Unlock()
		http.Error(w, "cache is shutting down", http.StatusServiceUnavailable)
		return
	}
	e.LastUsed = time.Now()
	if e.Complete {
		// Opened under the lock, so eviction cannot remove it first; an
		// open file survives a later eviction.
		f, err := os.Open(c.filePath(key))
		sum, mod := e.SHA256, e.ModTime
		c.mu.Unlock()
		if err != nil {
			c.Logger.Error("cache: open", "key", key, "err", err)
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		w.Header().Set("X-Cache", "HIT")
		serveFile(w, r, f, name, sum, mod)
		return
	}
	fe := c.fetches[key]
	if fe == nil {
		fe = c.startLocked(key, e)
	}
	c.mu.Unlock()
	c.serveFetch(w, r, fe, name)
}

// splitPath splits /cache/{key}/{name}.
func splitPath(p string) (key, name string, ok bool) {
	rest, found := strings.CutPrefix(p, "/cache/")
	if !found {
		return "", "", false
	}
	key, name, found = strings.Cut(rest, "/")
	return key, name, found && keyPattern.MatchString(key) && namePattern.MatchString(name)
}

// serveFile serves a complete file. Its strong ETag is its sha256, so a
// client's validator stays right across restarts and refetches.
func serveFile(w http.ResponseWriter, r *http.Request, f *os.File, name, sum string, mod time.Time) {
	h := w.Header()
	h.Set("Content-Type", contentType(name))
	if sum != "" {
		h.Set("ETag", `"sha256-`+sum+`"`)
	}
	http.ServeContent(w, r, name, mod, f)
}

func contentType(name string) string {
	return cmp.Or(mime.TypeByExtension(path.Ext(name)), "application/octet-stream")
}

// testHookServeFetch, when set by a test, runs between reading a fetch's
// file path and opening it.
var testHookServeFetch func(*fetch)

// serveFetch streams a file while it is fetched. An upstream failure
// before the first byte is a 502 or 504; after it, the connection is cut
// before the last byte so the client cannot take the file as complete.
func (c *Cache) serveFetch(w http.ResponseWriter, r *http.Request, fe *fetch, name string) {
	select {
	case <-fe.ready:
	case <-fe.done:
	case <-r.Context().Done():
		return
	}
	fe.mu.Lock()
	p := fe.path
	fe.mu.Unlock()
	if testHookServeFetch != nil {
		testHookServeFetch(fe)
	}
	f, oerr := os.Open(p)
	st := fe.snapshot()
	if st.finished && st.err != nil {
		if f != nil {
			f.Close()
		}
		http.Error(w, clientMessage(st.err), httpStatus(st.err))
		return
	}
	if oerr != nil {
		// A fetch that ends removes its partial file, or renames it into
		// files/ when it succeeded: the open can lose that race. Then the
		// client gets the fetch's error or the complete file.
		select {
		case <-fe.done:
		case <-r.Context().Done():
			return
		}
		if st := fe.snapshot(); st.err != nil {
			http.Error(w, clientMessage(st.err), httpStatus(st.err))
			return
		}
		c.ServeHTTP(w, r)
		return
	}
	defer f.Close()
	if st.finished {
		// Done before we got here: serve it whole, with Range.
		c.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType(name))
	h.Set("X-Cache", "MISS")
	if st.total >= 0 {
		h.Set("Content-Length", strconv.FormatInt(st.total, 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if err := stream(r.Context(), w, f, fe); err != nil {
		c.Logger.Debug("cache: stream cut", "key", fe.key, "remote", r.RemoteAddr, "err", err)
		// Ends the response without its last byte or final chunk.
		panic(http.ErrAbortHandler)
	}
}

// stream copies f to w as the fetch makes bytes available. Copying from
// the *os.File (through io.CopyN) lets net/http use sendfile.
func stream(ctx context.Context, w io.Writer, f *os.File, fe *fetch) error {
	var pos int64
	for {
		st := fe.snapshot()
		if pos < st.avail {
			n, err := io.CopyN(w, f, st.avail-pos)
			pos += n
			if err != nil {
				return err
			}
			continue
		}
		if st.finished {
			return st.err
		}
		select {
		case <-st.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// httpStatus is the status a client gets for a failed fetch.
func httpStatus(err error) int {
	var ne net.Error
	switch {
	case errors.Is(err, errClosed):
		return http.StatusServiceUnavailable
	case errors.Is(err, errStalled), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// clientMessage says what went wrong without naming the upstream URL.
func clientMessage(err error) string {
	var se *statusError
	var ce *checksumError
	var le *sumsError
	switch {
	case errors.As(err, &le): // before se: a 404 of the list is not one of the file
		return "upstream file not fetched: its checksum list could not be read or does not name it"
	case errors.As(err, &se):
		return se.Error()
	case errors.As(err, &ce) && ce.from != "":
		return "upstream file failed its sha256 check against the distribution's checksum list"
	case errors.As(err, &ce):
		return "upstream file failed its sha256 check"
	case errors.Is(err, errNotBoot):
		return "upstream sent an HTML page or an empty file, not a boot file"
	case errors.Is(err, errTooLarge):
		return "upstream file does not fit in the cache"
	case errors.Is(err, errClosed):
		return "cache is shutting down"
	}
	return http.StatusText(httpStatus(err)) + ": upstream fetch failed"
}
