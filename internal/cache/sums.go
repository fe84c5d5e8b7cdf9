package cache

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// Distributions publish the checksums of their boot files in a list beside
// them: Debian's and Ubuntu's SHA256SUMS ("<hex>  ./netboot/…/linux"),
// OpenBSD's and FreeBSD's SHA256 ("SHA256 (pxeboot) = <hex>"), the
// .treeinfo of Fedora, AlmaLinux and Rocky Linux ("images/pxeboot/vmlinuz
// = sha256:<hex>"). An entry registered with such a list is checked
// against the line the list has for it, looked up by its path relative to
// the list's folder, when it is fetched.

const (
	maxSumsBytes = 4 << 20         // a checksum list larger than this is refused
	sumsTTL      = 5 * time.Minute // how long a fetched list is reused
)

// sumsList is one fetched checksum list, shared by the files it covers
// while it is fresh.
type sumsList struct {
	done chan struct{}
	at   time.Time
	data []byte
	err  error
}

// sumsCache remembers checksum lists for sumsTTL, so that a kernel and
// its initrds fetched one after the other ask the mirror for the list once.
type sumsCache struct {
	mu    sync.Mutex
	lists map[string]*sumsList
}

// wantFromSums returns the sha256 that the checksum list at sumsURL gives
// for upstream, fetching the list (or reusing a fresh copy).
func (c *Cache) wantFromSums(ctx context.Context, upstream, sumsURL string) (string, error) {
	rel, err := relativeTo(upstream, sumsURL)
	if err != nil {
		return "", err
	}
	data, err := c.sums.get(ctx, sumsURL, func(ctx context.Context) ([]byte, error) {
		return c.fetchSums(ctx, sumsURL)
	})
	if err != nil {
		return "", fmt.Errorf("checksum list %s: %w", sumsURL, err)
	}
	sum, ok := lookupSum(data, rel)
	if !ok {
		if isHTML("", data) {
			return "", fmt.Errorf("checksum list %s is an HTML page (a captive portal or an error page?), not a list of sums", sumsURL)
		}
		return "", fmt.Errorf("checksum list %s has no sha256 for %s", sumsURL, rel)
	}
	return sum, nil
}

// get returns the list at u, fetched by fetch unless a fresh one is kept.
// Concurrent callers share one fetch; a failed fetch is not kept.
func (s *sumsCache) get(ctx context.Context, u string, fetch func(context.Context) ([]byte, error)) ([]byte, error) {
	s.mu.Lock()
	if s.lists == nil {
		s.lists = map[string]*sumsList{}
	}
	l, ok := s.lists[u]
	if ok && (l.err != nil || time.Since(l.at) > sumsTTL) {
		select {
		case <-l.done:
			ok = false
		default: // still running: share it
		}
	}
	if !ok {
		l = &sumsList{done: make(chan struct{}), at: time.Now()}
		s.lists[u] = l
		s.mu.Unlock()
		l.data, l.err = fetch(ctx)
		close(l.done)
		return l.data, l.err
	}
	s.mu.Unlock()
	select {
	case <-l.done:
		return l.data, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetchSums downloads a checksum list, bounded in size and time.
func (c *Cache) fetchSums(ctx context.Context, sumsURL string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.StallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sumsURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "bootwright-cache")
	resp, err := c.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{code: resp.StatusCode}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSumsBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSumsBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxSumsBytes)
	}
	return data, nil
}

// relativeTo returns the path of upstream relative to the folder of the
// checksum list at sumsURL; both must be on one server.
func relativeTo(upstream, sumsURL string) (string, error) {
	u, err1 := url.Parse(upstream)
	s, err2 := url.Parse(sumsURL)
	if err1 != nil || err2 != nil || s.Scheme != "http" && s.Scheme != "https" || s.User != nil {
		return "", fmt.Errorf("checksum list %q: want an http or https URL without credentials", sumsURL)
	}
	dir := path.Dir(s.Path)
	rel, ok := strings.CutPrefix(u.Path, strings.TrimSuffix(dir, "/")+"/")
	if u.Host != s.Host || !ok || rel == "" {
		return "", fmt.Errorf("%s is not under the folder of its checksum list %s", upstream, sumsURL)
	}
	return rel, nil
}

// lookupSum finds the sha256 of the file at path rel (relative to the
// list's folder) in a checksum list in one of the formats above.
func lookupSum(data []byte, rel string) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, sum, ok := parseSumLine(sc.Text())
		if ok && path.Clean(strings.TrimPrefix(name, "./")) == rel {
			return sum, true
		}
	}
	return "", false
}

// parseSumLine reads one line of a checksum list: GNU ("<hex>  name" or
// "<hex> *name"), BSD ("SHA256 (name) = <hex>") or .treeinfo ("name =
// sha256:<hex>"). Lines with another digest or none are skipped.
func parseSumLine(line string) (name, sum string, ok bool) {
	line = strings.TrimSpace(line)
	if rest, found := strings.CutPrefix(line, "SHA256 ("); found {
		name, sum, found = strings.Cut(rest, ") = ")
		return name, strings.ToLower(sum), found && sha256Pattern.MatchString(strings.ToLower(sum))
	}
	if name, v, found := strings.Cut(line, " = sha256:"); found {
		return strings.TrimSpace(name), strings.ToLower(v), sha256Pattern.MatchString(strings.ToLower(v))
	}
	sum, name, found := strings.Cut(line, " ")
	sum = strings.ToLower(sum)
	if !found || !sha256Pattern.MatchString(sum) {
		return "", "", false
	}
	name = strings.TrimPrefix(strings.TrimLeft(name, " "), "*")
	return name, sum, name != ""
}
