// Package gitsync keeps the config in service in step with a git
// repository: it clones the repository into the state directory, polls
// the configured ref, and puts each new commit into service only when the
// config at that commit loads and passes the check. A commit that fails
// is logged and recorded; the last good commit keeps serving.
package gitsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bootwright/bootwright/internal/bootconfig"
)

// Syncer follows one ref of one repository.
type Syncer struct {
	URL      string        // e.g. https://git.example/lab/boot.git or file:///srv/boot.git
	Ref      string        // branch or tag; empty means the remote's HEAD
	Dir      string        // local clone, under the state directory
	Interval time.Duration // poll interval; zero means 1m
	// Check runs the same checks as `bootwright check` on a loaded Bundle.
	Check    func(*bootconfig.Bundle) error
	Live     *bootconfig.Live // set before Run; Sync works without it
	OnReload func(error)      // called after each attempt to switch commits
	Logger   *slog.Logger

	mu        sync.Mutex // one fetch and checkout at a time
	repo      *git.Repository
	failed    plumbing.Hash // last commit that failed, not retried
	inService plumbing.Hash
}

// Sync clones or opens the repository, fetches, and loads and checks the
// commit the ref points at. It returns the Bundle for that commit.
func (s *Syncer) Sync(ctx context.Context) (*bootconfig.Bundle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(ctx); err != nil {
		return nil, err
	}
	hash, err := s.fetch(ctx)
	if err != nil {
		return nil, err
	}
	return s.load(hash)
}

// Run polls until ctx ends, putting each new good commit into Live.
func (s *Syncer) Run(ctx context.Context) error {
	t := time.NewTicker(cmp.Or(s.Interval, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.poll(ctx)
		}
	}
}

// Poll checks for a new commit once, as Run does on each tick (and serve
// on SIGHUP). It is safe to call while Run runs.
func (s *Syncer) Poll(ctx context.Context) { s.poll(ctx) }

func (s *Syncer) poll(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	log := s.logger()
	hash, err := s.fetch(ctx)
	if err != nil {
		log.Warn("config git: fetch failed; keeping the commit in service", "url", s.URL, "err", err)
		return
	}
	if hash == s.inService || hash == s.failed {
		return
	}
	b, err := s.load(hash)
	if err != nil {
		s.failed = hash
		s.Live.Fail(err)
		log.Error("config git: commit fails its check; still serving the previous commit",
			"commit", hash.String()[:12], "serving", s.inService.String()[:12], "err", err)
	} else {
		s.Live.Store(b)
		log.Info("config git: new commit in service", "commit", hash.String()[:12])
	}
	if s.OnReload != nil {
		s.OnReload(err)
	}
}

// open opens the local clone, or makes an empty one with the remote as
// origin. (It does not clone: a clone checks out the remote's HEAD, which
// on a bare repository made with Debian 12's git names master even when
// only main was pushed, and fails with "reference not found" whatever
// ref was asked for.)
func (s *Syncer) open(context.Context) error {
	r, err := git.PlainOpen(s.Dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		if err := os.MkdirAll(s.Dir, 0o750); err != nil {
			return fmt.Errorf("config git: %w", err)
		}
		if r, err = git.PlainInit(s.Dir, false); err == nil {
			_, err = r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{s.URL}})
		}
	}
	if err != nil {
		return fmt.Errorf("config git %s in %s: %w", s.URL, s.Dir, err)
	}
	s.repo = r
	return nil
}

// fetch updates the clone's branches and tags from the remote and
// returns the commit the ref points at.
func (s *Syncer) fetch(ctx context.Context) (plumbing.Hash, error) {
	err := s.repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Force: true, Tags: git.AllTags,
		RefSpecs: []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"}})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return plumbing.ZeroHash, fmt.Errorf("config git fetch %s: %w", s.URL, err)
	}
	ref := s.Ref
	if ref == "" {
		if ref, err = s.remoteHEAD(ctx); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	return s.resolve(ref)
}

// remoteHEAD returns the branch the remote's HEAD names, or an error
// that names the branches there are when HEAD names none of them.
func (s *Syncer) remoteHEAD(ctx context.Context) (string, error) {
	remote, err := s.repo.Remote("origin")
	if err != nil {
		return "", fmt.Errorf("config git: %w", err)
	}
	refs, err := remote.ListContext(ctx, &git.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("config git %s: list refs: %w", s.URL, err)
	}
	var head *plumbing.Reference
	byHash := map[plumbing.Hash]plumbing.ReferenceName{}
	for _, r := range refs {
		switch {
		case r.Name() == plumbing.HEAD:
			head = r
		case r.Name().IsBranch():
			byHash[r.Hash()] = r.Name()
		}
	}
	switch {
	case head != nil && head.Type() == plumbing.SymbolicReference:
		if _, ok := s.branch(head.Target()); ok {
			return head.Target().String(), nil
		}
		return "", fmt.Errorf("config git %s: remote HEAD names %s, which does not exist; branches: %s (set --config-git-ref)",
			s.URL, head.Target(), s.branches())
	case head != nil && byHash[head.Hash()] != "":
		return byHash[head.Hash()].String(), nil
	}
	// git does not advertise a HEAD that names a branch never pushed (a
	// bare repository made by git init --bare, whose HEAD names master,
	// with only main pushed).
	return "", fmt.Errorf("config git %s: the remote's HEAD names no branch it has; branches: %s (set --config-git-ref)", s.URL, s.branches())
}

// resolve returns the commit of ref: a branch or tag name, or a full
// refs/heads/ or refs/tags/ name.
func (s *Syncer) resolve(ref string) (plumbing.Hash, error) {
	var candidates []plumbing.ReferenceName
	switch name := plumbing.ReferenceName(ref); {
	case name.IsBranch():
		candidates = []plumbing.ReferenceName{plumbing.NewRemoteReferenceName("origin", name.Short())}
	case name.IsTag():
		candidates = []plumbing.ReferenceName{name}
	default:
		candidates = []plumbing.ReferenceName{plumbing.NewRemoteReferenceName("origin", ref), plumbing.NewTagReferenceName(ref)}
	}
	for _, name := range candidates {
		r, err := s.repo.Reference(name, true)
		if err != nil {
			continue
		}
		if tag, err := s.repo.TagObject(r.Hash()); err == nil {
			if c, err := tag.Commit(); err == nil {
				return c.Hash, nil
			}
		}
		return r.Hash(), nil
	}
	return plumbing.ZeroHash, fmt.Errorf("config git %s: no branch or tag %q; branches: %s", s.URL, ref, s.branches())
}

// branch reports whether the clone has the remote's branch name.
func (s *Syncer) branch(name plumbing.ReferenceName) (plumbing.Hash, bool) {
	r, err := s.repo.Reference(plumbing.NewRemoteReferenceName("origin", name.Short()), true)
	if err != nil {
		return plumbing.ZeroHash, false
	}
	return r.Hash(), true
}

// branches lists the remote's branches the clone has, for errors.
func (s *Syncer) branches() string {
	var names []string
	if it, err := s.repo.References(); err == nil {
		it.ForEach(func(r *plumbing.Reference) error {
			if b, ok := strings.CutPrefix(r.Name().String(), "refs/remotes/origin/"); ok && b != "HEAD" {
				names = append(names, b)
			}
			return nil
		})
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// load checks out hash and loads and checks the config there.
func (s *Syncer) load(hash plumbing.Hash) (*bootconfig.Bundle, error) {
	wt, err := s.repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("config git: %w", err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: hash, Force: true}); err != nil {
		return nil, fmt.Errorf("config git: check out %s: %w", hash, err)
	}
	b, err := bootconfig.Load(s.Dir)
	if err == nil && s.Check != nil {
		err = s.Check(b)
	}
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", hash.String()[:12], err)
	}
	b.Dir, b.Commit = s.URL, hash.String()
	s.inService = hash
	return b, nil
}

func (s *Syncer) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s.Logger
}
