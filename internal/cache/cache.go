package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBytes is the disk cap when Cache.MaxBytes is zero: 20 GiB.
const DefaultMaxBytes = 20 << 30

// Cache is a caching proxy for registered upstream URLs. Dir is required;
// the other fields have working zero values. A Cache must not be copied
// after first use.
type Cache struct {
	Dir      string       // under the state dir, e.g. <state-dir>/cache
	MaxBytes int64        // disk cap; least recently used evicted first; zero means DefaultMaxBytes
	Client   *http.Client // upstream client; nil: one with sane timeouts
	Logger   *slog.Logger // nil discards logs

	// StallTimeout cuts an upstream that sends no header or no byte for
	// this long; zero means 30s.
	StallTimeout time.Duration

	once    sync.Once
	initErr error
	ctx     context.Context // canceled by Close; parent of every fetch
	cancel  context.CancelFunc
	wg      sync.WaitGroup // running fetches

	sums sumsCache // checksum lists fetched lately

	mu       sync.Mutex
	closed   bool
	idx      index
	fetches  map[string]*fetch // by key, while running
	failures map[string]error  // by key: why its last fetch failed
}

// keyPattern is what Register hands out: 128 bits of the URL's sha256.
var keyPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// namePattern is what a file name in a /cache/ path may look like.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// errClosed is returned once Close has been called.
var errClosed = errors.New("cache is closed")

func (c *Cache) init() error {
	c.once.Do(func() {
		if c.Logger == nil {
			c.Logger = slog.New(slog.DiscardHandler)
		}
		c.Logger = c.Logger.With("component", "cache")
		if c.MaxBytes <= 0 {
			c.MaxBytes = DefaultMaxBytes
		}
		if c.StallTimeout <= 0 {
			c.StallTimeout = 30 * time.Second
		}
		if c.Client == nil {
			c.Client = defaultClient(c.StallTimeout)
		}
		c.ctx, c.cancel = context.WithCancel(context.Background())
		c.fetches = map[string]*fetch{}
		c.failures = map[string]error{}
		if c.Dir == "" {
			c.initErr = errors.New("cache: no directory set")
			return
		}
		c.initErr = c.load()
	})
	return c.initErr
}

// defaultClient is an upstream client that gives up on dead or silent
// servers; a slow body is bounded by StallTimeout instead of a total.
func defaultClient(stall time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = stall
	t.Proxy = http.ProxyFromEnvironment
	return &http.Client{Transport: t}
}

// Register allows upstream to be served and returns the path to use under
// the server's URL, e.g. "/cache/3f2a…/vmlinuz". wantSHA256 is hex or "".
// Registering the same URL again is cheap; a different checksum replaces
// the old one and drops a cached file that does not match it.
func (c *Cache) Register(upstream string, wantSHA256 string) (string, error) {
	return c.RegisterSums(upstream, wantSHA256, "")
}

// RegisterSums is Register with the URL of a checksum list that the
// distribution publishes beside the file (SHA256SUMS, SHA256, .treeinfo;
// see sums.go): when the file is fetched, the list is fetched too and the
// file must match the sha256 the list gives for it, else it is never
// served. An explicit wantSHA256 wins over the list. A file cached
// before a new list was named is checked again on its next fetch.
func (c *Cache) RegisterSums(upstream, wantSHA256, sumsURL string) (string, error) {
	if err := c.init(); err != nil {
		return "", err
	}
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("cache: register %q: want an http or https URL without credentials", upstream)
	}
	want := strings.ToLower(wantSHA256)
	if want != "" && !sha256Pattern.MatchString(want) {
		return "", fmt.Errorf("cache: register %s: sha256 %q is not 64 hex digits", upstream, wantSHA256)
	}
	if sumsURL != "" {
		if _, err := relativeTo(upstream, sumsURL); err != nil {
			return "", fmt.Errorf("cache: register %s: %w", upstream, err)
		}
	}
	key, name := keyOf(upstream), nameOf(u)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return "", errClosed
	}
	e, ok := c.idx.Entries[key]
	switch {
	case !ok:
		c.idx.Entries[key] = &entry{URL: upstream, Name: name, WantSHA256: want, SumsURL: sumsURL}
	case e.WantSHA256 == want && e.SumsURL == sumsURL:
		return "/cache/" + key + "/" + e.Name, nil
	default:
		if e.Complete && (want != "" && e.SHA256 != want || want == "" && sumsURL != e.SumsURL) {
			c.dropFiles(key, e)
		}
		e.WantSHA256, e.SumsURL = want, sumsURL
	}
	if err := c.saveLocked(); err != nil {
		return "", err
	}
	return "/cache/" + key + "/" + name, nil
}

// Failure returns why the last fetch of the file at path (as Register
// returned it, /cache/{key}/{name}) failed, or nil when it did not or
// path names no entry. Its message names the upstream URL, for logs and
// a machine's timeline; clients get a shorter one.
func (c *Cache) Failure(p string) error {
	key, _, ok := splitPath(p)
	if !ok || c.init() != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failures[key]
}

// Close stops running fetches (their clients get an error, the partial
// files stay for a later resume) and saves the index. A Cache that was
// never used touches no disk.
func (c *Cache) Close() error {
	c.once.Do(func() { c.initErr = errClosed })
	if c.initErr != nil {
		return nil
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.saveLocked()
}

// keyOf is the cache key of an upstream URL.
func keyOf(upstream string) string {
	sum := sha256.Sum256([]byte(upstream))
	return hex.EncodeToString(sum[:16])
}

// nameOf is the file name clients see: the URL's last path element when
// it is a plain file name, else "file".
func nameOf(u *url.URL) string {
	if n := path.Base(u.Path); namePattern.MatchString(n) {
		return n
	}
	return "file"
}
