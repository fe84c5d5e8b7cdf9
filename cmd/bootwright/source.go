package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/gitsync"
)

// gitFlags say where the config tree comes from when it is a git
// repository rather than --config-dir.
type gitFlags struct {
	url, ref, interval string
}

func (g *gitFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.url, "config-git", "", "git repository URL to take the config tree from (instead of --config-dir)")
	fs.StringVar(&g.ref, "config-git-ref", "", "branch or tag to follow (default: the remote's HEAD)")
	fs.StringVar(&g.interval, "config-git-interval", "1m", "how often to fetch the repository")
}

// loadBundle loads and checks the config tree from --config-dir or
// --config-git and returns it with the git syncer (nil for a directory).
func loadBundle(f *serveFlags, publicURL string) (*bootconfig.Bundle, *gitsync.Syncer, error) {
	check := func(b *bootconfig.Bundle) error { return checkBundle(b, publicURL, f.assetsDir, f.state.secretsDir) }
	if f.git.url == "" {
		b, err := bootconfig.Load(f.configDir)
		if err != nil {
			return nil, nil, fmt.Errorf("config: %w", err)
		}
		return b, nil, check(b)
	}
	if f.configDir != "" {
		return nil, nil, errors.New("--config-dir and --config-git exclude each other")
	}
	interval, err := time.ParseDuration(f.git.interval)
	if err != nil || interval < time.Second {
		return nil, nil, fmt.Errorf("--config-git-interval %q: want a duration of at least 1s", f.git.interval)
	}
	s := &gitsync.Syncer{URL: f.git.url, Ref: f.git.ref, Interval: interval, Check: check,
		Dir: filepath.Join(f.stateDir, "config-git")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := s.Sync(ctx)
	if err != nil {
		return nil, nil, err
	}
	return b, s, nil
}
