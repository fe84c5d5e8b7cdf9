package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bootwright/bootwright/httpboot"
	"github.com/bootwright/bootwright/internal/cache"
)

// httpFlags are the raw download-limit and cache flags of `bootwright serve`.
type httpFlags struct {
	cacheMaxBytes string
	maxStreams    int
	apiRate       float64
}

func (h *httpFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.cacheMaxBytes, "cache-max-bytes", "20GiB",
		"disk cap of the caching proxy in STATE-DIR/cache, in bytes or with KiB, MiB, GiB, TiB; least recently used files are evicted")
	fs.IntVar(&h.maxStreams, "http-max-streams-per-ip", httpboot.DefaultMaxStreamsPerIP,
		"concurrent downloads per client address (more get 429); 0 means no cap")
	fs.Float64Var(&h.apiRate, "api-rate", httpboot.DefaultAPIRate.PerSecond,
		"API requests a second per client address, in bursts of twice that (more get 429); 0 means no limit")
}

// httpConfig is the validated part of the HTTP limits and cache flags.
type httpConfig struct {
	cacheMaxBytes int64
	maxStreams    int // as httpboot.Server.MaxStreamsPerIP: negative means no cap
	apiRate       httpboot.RateLimit
}

func (h *httpFlags) build() (httpConfig, error) {
	n, err := parseBytes(h.cacheMaxBytes)
	if err != nil || n <= 0 {
		return httpConfig{}, fmt.Errorf("--cache-max-bytes %q: want a positive size such as 20GiB", h.cacheMaxBytes)
	}
	if h.maxStreams < 0 {
		return httpConfig{}, fmt.Errorf("--http-max-streams-per-ip %d: want 0 (no cap) or more", h.maxStreams)
	}
	c := httpConfig{cacheMaxBytes: n, maxStreams: h.maxStreams}
	if c.maxStreams == 0 {
		c.maxStreams = -1
	}
	switch {
	case h.apiRate < 0 || math.IsNaN(h.apiRate) || math.IsInf(h.apiRate, 0):
		return httpConfig{}, fmt.Errorf("--api-rate %v: want 0 (no limit) or a number of requests a second", h.apiRate)
	case h.apiRate == 0:
		c.apiRate = httpboot.RateLimit{PerSecond: -1}
	default:
		c.apiRate = httpboot.RateLimit{PerSecond: h.apiRate, Burst: max(1, int(math.Ceil(2*h.apiRate)))}
	}
	return c, nil
}

// parseBytes reads "1048576", "512MiB", "20GiB" or "1TiB".
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"B", 0}}
	shift := uint(0)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, shift = rest, u.shift
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, err
	}
	if n < 0 || n > (1<<62)>>shift {
		return 0, errors.New("out of range")
	}
	return n << shift, nil
}

// withCache gives hs its limits and a caching proxy in the state dir, and
// returns hs's shutdown extended to close the cache after the downloads.
func withCache(hs *httpboot.Server, c *config, log *slog.Logger) func(context.Context) error {
	hs.MaxStreamsPerIP, hs.APIRate = c.http.maxStreams, c.http.apiRate
	hs.Boot.Cache = &cache.Cache{Dir: filepath.Join(c.stateDir, "cache"), MaxBytes: c.http.cacheMaxBytes, Logger: log}
	return func(ctx context.Context) error {
		return errors.Join(hs.Shutdown(ctx), hs.Boot.Cache.Close())
	}
}
