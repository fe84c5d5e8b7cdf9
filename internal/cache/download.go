package cache

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Download errors; see httpStatus for what clients get.
var (
	errStalled      = errors.New("upstream stalled")
	errTooMany      = errors.New("upstream sent more bytes than announced")
	errRangeIgnored = errors.New("upstream did not resume at the requested offset")
	errChanged      = errors.New("upstream file changed during the fetch")
	// errNotBoot is an upstream answer that cannot be a kernel or an
	// initrd: an HTML page (a captive portal, a mirror's 200 error page)
	// or an empty body. No byte of it reaches a client.
	errNotBoot = errors.New("upstream sent no boot file")
)

const (
	maxAttempts = 5        // upstream requests per fetch once bytes flow
	reserveStep = 16 << 20 // disk reserved ahead when the size is unknown
	notifyEvery = 256 << 10
)

// statusError is an upstream answer other than 200 or the 206 asked for.
type statusError struct{ code int }

func (e *statusError) Error() string {
	return fmt.Sprintf("upstream answered %d %s", e.code, http.StatusText(e.code))
}

// download is the state of one fetch's goroutine.
type download struct {
	c   *Cache
	f   *fetch
	e   entry // the entry when the fetch started
	log *slog.Logger

	want      string // sha256 the file must have, "" for none
	file      *os.File
	h         hash.Hash
	off       int64 // bytes written to file and hashed
	total     int64 // announced size, -1 when unknown
	reserved  int64
	etag      string // strong validators of the upstream copy
	lastMod   string
	modTime   time.Time
	resumable bool // upstream takes Range and gave a validator
	started   bool // readers were let in
}

// run downloads into the partial file, resuming after an interruption
// while the upstream allows it. It returns nil when the file is whole.
func (d *download) run() error {
	d.want = d.e.WantSHA256
	if d.want == "" && d.e.SumsURL != "" {
		want, err := d.c.wantFromSums(d.c.ctx, d.e.URL, d.e.SumsURL)
		if err != nil {
			return &sumsError{err}
		}
		d.want = want
	}
	if err := d.open(); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := d.attempt()
		if err == nil {
			return nil
		}
		if !d.started || !d.resumable || isFatal(err) || errors.Is(err, errClosed) || attempt >= maxAttempts {
			return err
		}
		d.log.Warn("cache: upstream interrupted, resuming", "offset", d.off, "attempt", attempt, "err", err)
		select {
		case <-d.c.ctx.Done():
			return errClosed
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

// open opens the partial file and, when a resumable one is there, hashes
// what it holds so that the download continues after it.
func (d *download) open() error {
	p := d.c.partPath(d.f.key)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	d.file, d.h, d.total = f, sha256.New(), -1
	if d.e.resumable() && d.e.Size > 0 {
		if n, err := io.CopyN(d.h, f, d.e.Size); err == nil && n == d.e.Size {
			d.off, d.etag, d.lastMod, d.resumable = n, d.e.ETag, d.e.LastModified, true
			return nil
		}
	}
	return d.restart()
}

// restart empties the partial file.
func (d *download) restart() error {
	d.h.Reset()
	d.off = 0
	if err := d.file.Truncate(0); err != nil {
		return fmt.Errorf("truncate %s: %w", d.file.Name(), err)
	}
	_, err := d.file.Seek(0, io.SeekStart)
	return err
}

// attempt makes one upstream request and copies its body. A timer cuts
// the request when no header or byte arrives for StallTimeout.
func (d *download) attempt() error {
	ctx, cancel := context.WithCancel(d.c.ctx)
	defer cancel()
	var stalled atomic.Bool
	timer := time.AfterFunc(d.c.StallTimeout, func() { stalled.Store(true); cancel() })
	defer timer.Stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.e.URL, nil)
	if err != nil {
		return fmt.Errorf("upstream %s: %w", d.e.URL, err)
	}
	req.Header.Set("User-Agent", "bootwright-cache")
	if d.off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", d.off))
		req.Header.Set("If-Range", cmp.Or(d.etag, d.lastMod))
	}
	resp, err := d.c.Client.Do(req)
	if err == nil {
		err = d.accept(resp)
		if err == nil {
			err = d.copy(resp.Body, timer)
		}
		resp.Body.Close()
	}
	switch {
	case err == nil:
		return nil
	case d.c.ctx.Err() != nil:
		return errClosed
	case stalled.Load():
		return fmt.Errorf("%w for %s: %v", errStalled, d.c.StallTimeout, err)
	}
	return err
}

// accept checks the upstream's answer, positions the file for it and,
// the first time, lets readers in.
func (d *download) accept(resp *http.Response) error {
	switch {
	case resp.StatusCode == http.StatusPartialContent && d.off > 0:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != d.off || (d.started && d.total >= 0 && total != d.total) {
			return fmt.Errorf("%w: Content-Range %q at offset %d", errRangeIgnored, resp.Header.Get("Content-Range"), d.off)
		}
		d.total = total
	case resp.StatusCode == http.StatusOK:
		if d.off > 0 && d.started {
			return fmt.Errorf("%w: got the whole file at offset %d", errRangeIgnored, d.off)
		}
		if d.off > 0 {
			if err := d.restart(); err != nil {
				return err
			}
		}
		d.total = resp.ContentLength
	default:
		return &statusError{code: resp.StatusCode}
	}
	if d.off == 0 && isHTML(resp.Header.Get("Content-Type"), nil) {
		return fmt.Errorf("%w: it answered with an HTML page (Content-Type %s), a captive portal or an error page", errNotBoot, resp.Header.Get("Content-Type"))
	}
	etag := resp.Header.Get("ETag")
	if strings.HasPrefix(etag, "W/") {
		etag = "" // If-Range needs a strong validator
	}
	if d.started && d.etag != "" && etag != "" && etag != d.etag {
		return errChanged
	}
	d.etag, d.lastMod = cmp.Or(etag, d.etag), cmp.Or(resp.Header.Get("Last-Modified"), d.lastMod)
	d.resumable = (resp.Header.Get("Accept-Ranges") == "bytes" || resp.StatusCode == http.StatusPartialContent) &&
		(d.etag != "" || d.lastMod != "")
	need := d.total
	if need < 0 {
		need = min(d.off+reserveStep, max(d.off, d.c.MaxBytes))
	}
	return d.reserve(need)
}

// letIn lets readers in, the first time: the file starts at d.off.
func (d *download) letIn() {
	if d.started {
		return
	}
	d.modTime = time.Now()
	if t, err := http.ParseTime(d.lastMod); err == nil {
		d.modTime = t
	}
	d.f.setReady(d.off, d.total, d.modTime)
	d.started = true
}

// sniff reads the first bytes of a body that starts the file and refuses
// it when it is empty or an HTML page; it returns the bytes read.
func (d *download) sniff(body io.Reader, buf []byte) ([]byte, error) {
	n, err := io.ReadFull(body, buf[:512])
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		err = nil
	case err != nil:
		return nil, err
	}
	switch {
	case n == 0:
		return nil, fmt.Errorf("%w: the file is empty", errNotBoot)
	case isHTML("", buf[:n]):
		return nil, fmt.Errorf("%w: it sent an HTML page, a captive portal or an error page", errNotBoot)
	}
	return buf[:n], nil
}

// copy appends body to the file, hashing it and waking readers, whom it
// lets in once the first bytes have passed sniff.
func (d *download) copy(body io.Reader, timer *time.Timer) error {
	buf := make([]byte, 256<<10)
	if d.off == 0 {
		first, err := d.sniff(body, buf)
		timer.Reset(d.c.StallTimeout)
		if err != nil {
			return err
		}
		if err := d.write(first); err != nil {
			return err
		}
	}
	d.letIn()
	last := d.off
	for {
		n, err := body.Read(buf)
		timer.Reset(d.c.StallTimeout)
		if n > 0 {
			if err := d.write(buf[:n]); err != nil {
				d.f.advance(d.off)
				return err
			}
			if d.off-last >= notifyEvery {
				d.f.advance(d.off)
				last = d.off
			}
		}
		if err != nil {
			d.f.advance(d.off)
			if err == io.EOF {
				if d.total >= 0 && d.off != d.total {
					return io.ErrUnexpectedEOF
				}
				return nil
			}
			return err
		}
	}
}

// write appends p, within the announced size and the disk reservation.
func (d *download) write(p []byte) error {
	end := d.off + int64(len(p))
	if d.total >= 0 && end > d.total {
		return fmt.Errorf("%w (%d)", errTooMany, d.total)
	}
	if end > d.reserved {
		if err := d.reserve(max(end, min(end+reserveStep, d.c.MaxBytes))); err != nil {
			return err
		}
	}
	if _, err := d.file.Write(p); err != nil {
		return fmt.Errorf("write %s: %w", d.file.Name(), err)
	}
	d.h.Write(p)
	d.off = end
	return nil
}

// reserve makes room on disk for the file to reach size bytes.
func (d *download) reserve(size int64) error {
	if size <= d.reserved {
		return nil
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	if err := d.c.reserveLocked(d.f.key, size); err != nil {
		return fmt.Errorf("%d bytes, cap %d: %w", size, d.c.MaxBytes, err)
	}
	d.reserved, d.f.reserved = size, size
	return nil
}

// parseContentRange parses "bytes START-END/TOTAL"; total is -1 for "*".
func parseContentRange(s string) (start, total int64, ok bool) {
	var end int64
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	if strings.HasSuffix(rest, "/*") {
		_, err := fmt.Sscanf(rest, "%d-%d/*", &start, &end)
		return start, -1, err == nil && end >= start
	}
	_, err := fmt.Sscanf(rest, "%d-%d/%d", &start, &end, &total)
	return start, total, err == nil && end >= start && total > end
}
