package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Verdicts of Check.
const (
	OK    = "ok"
	Dead  = "dead"  // an error status, or no answer
	Moved = "moved" // a permanent redirect elsewhere
)

// Result is what an upstream said about one URL.
type Result struct {
	URL     string
	Verdict string
	Status  int    // the last HTTP status, 0 for none
	Detail  string // the error, or where a moved URL went
}

// Checker asks upstreams whether URLs are still there. The zero Checker
// works: 8 requests at a time, 10 s each, a client of its own.
type Checker struct {
	Client      *http.Client // redirects are handled by Check, not the client
	Concurrency int
	Timeout     time.Duration
}

const maxRedirects = 5

// Check checks each distinct http(s) URL of items that is not Local and
// returns one Result per URL, in the order of items.
func (c Checker) Check(ctx context.Context, items []Item) []Result {
	client := cmp.Or(c.Client, &http.Client{})
	noFollow := *client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var urls []string
	seen, bootFile := map[string]bool{}, map[string]bool{}
	for _, it := range items {
		if it.Local || !strings.HasPrefix(it.URL, "http") {
			continue
		}
		bootFile[it.URL] = bootFile[it.URL] || it.Role == RoleKernel || it.Role == RoleInitrd
		if !seen[it.URL] {
			seen[it.URL] = true
			urls = append(urls, it.URL)
		}
	}
	out := make([]Result, len(urls))
	n := c.Concurrency
	if n <= 0 {
		n = 8
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = probe(ctx, &noFollow, u, cmp.Or(c.Timeout, 10*time.Second), bootFile[u])
		}()
	}
	wg.Wait()
	return out
}

// probe follows temporary redirects (mirror redirectors) and reports a
// permanent one to another URL as moved. A redirect that only adds a
// trailing slash (a folder, such as an installer's repository) is fine.
// A kernel or initrd (bootFile) served as an HTML page is dead: a captive
// portal or a mirror's error page answering 200.
func probe(ctx context.Context, client *http.Client, u string, timeout time.Duration, bootFile bool) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cur := u
	for range maxRedirects + 1 {
		status, loc, ctype, err := ask(ctx, client, cur)
		switch {
		case err != nil:
			return Result{URL: u, Verdict: Dead, Detail: err.Error()}
		case status >= 200 && status < 300 && bootFile && isHTML(ctype):
			return Result{URL: u, Verdict: Dead, Status: status, Detail: "an HTML page (Content-Type " + ctype + "), not a boot file"}
		case status >= 200 && status < 300:
			return Result{URL: u, Verdict: OK, Status: status}
		case status >= 300 && status < 400 && loc != "":
			next, perr := url.Parse(cur)
			if perr == nil {
				next, perr = next.Parse(loc)
			}
			if perr != nil {
				return Result{URL: u, Verdict: Dead, Status: status, Detail: "bad Location " + loc}
			}
			permanent := status == http.StatusMovedPermanently || status == http.StatusPermanentRedirect
			if permanent && next.String() != cur+"/" {
				return Result{URL: u, Verdict: Moved, Status: status, Detail: next.String()}
			}
			cur = next.String()
		default:
			return Result{URL: u, Verdict: Dead, Status: status, Detail: fmt.Sprintf("%d %s", status, http.StatusText(status))}
		}
	}
	return Result{URL: u, Verdict: Dead, Detail: "too many redirects"}
}

// ask sends HEAD, or a GET of one byte when the server refuses HEAD, and
// returns the status, Location and Content-Type.
func ask(ctx context.Context, client *http.Client, u string) (int, string, string, error) {
	status, loc, ctype, err := send(ctx, client, http.MethodHead, u)
	if err == nil && (status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented) {
		return send(ctx, client, http.MethodGet, u)
	}
	return status, loc, ctype, err
}

func send(ctx context.Context, client *http.Client, method, u string) (int, string, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("User-Agent", "bootwright-catalog-check")
	if method == http.MethodGet {
		req.Header.Set("Range", "bytes=0-0")
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, "", "", errors.New("no answer in time")
		}
		return 0, "", "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Content-Type"), nil
}

// isHTML reports whether a Content-Type is an HTML page's.
func isHTML(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}
