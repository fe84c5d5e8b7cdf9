package bootconfig

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Reloader reloads the config into Live when files under Dir change (with
// fsnotify, debounced) or when Trigger is called (on SIGHUP). A config
// that fails Load is logged and recorded in Live; the one in service stays.
type Reloader struct {
	Live *Live
	// Load loads and checks a new Bundle.
	Load func() (*Bundle, error)
	// Dir is watched for changes, subdirectories included; empty means
	// reload on Trigger only.
	Dir string
	// Debounce waits for a burst of changes (an editor's save, a git
	// checkout) to settle; zero means 300ms.
	Debounce time.Duration
	// OnReload is called after each attempt with its error (nil: success).
	OnReload func(error)
	Logger   *slog.Logger

	trigOnce sync.Once
	trigger  chan struct{}
}

// Trigger asks for a reload now. It never blocks.
func (r *Reloader) Trigger() {
	select {
	case r.trig() <- struct{}{}:
	default:
	}
}

// trig returns the trigger channel, made on first use by whichever of
// Run and Trigger (a SIGHUP, from another goroutine) comes first.
func (r *Reloader) trig() chan struct{} {
	r.trigOnce.Do(func() { r.trigger = make(chan struct{}, 1) })
	return r.trigger
}

// Run watches and reloads until ctx ends.
func (r *Reloader) Run(ctx context.Context) error {
	log := r.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.Dir == "" {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-r.trig():
				r.reload(log, "signal")
			}
		}
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := watchTree(w, r.Dir); err != nil {
		return err
	}
	r.watchLoop(ctx, w, log)
	return nil
}

// watchLoop reloads after changes settle, adding new directories to w.
func (r *Reloader) watchLoop(ctx context.Context, w *fsnotify.Watcher, log *slog.Logger) {
	debounce := r.Debounce
	if debounce == 0 {
		debounce = 300 * time.Millisecond
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.trig():
			r.reload(log, "signal")
		case ev := <-w.Events:
			if ev.Has(fsnotify.Create) {
				// A new folder (templates/files/autoinstall, say) must be
				// watched too; Add on a plain file is harmless.
				watchTree(w, ev.Name)
			}
			timer.Reset(debounce)
		case err := <-w.Errors:
			log.Warn("config watch error", "dir", r.Dir, "err", err)
		case <-timer.C:
			r.reload(log, "file change")
		}
	}
}

func (r *Reloader) reload(log *slog.Logger, why string) {
	b, err := r.Load()
	if err != nil {
		r.Live.Fail(err)
		log.Error("config reload failed; still serving the previous config", "why", why, "err", err,
			"serving", r.Live.Status().Source, "commit", r.Live.Status().Commit)
	} else {
		r.Live.Store(b)
		log.Info("config reloaded", "why", why, "source", b.Dir, "commit", b.Commit)
	}
	if r.OnReload != nil {
		r.OnReload(err)
	}
}

// watchTree adds dir and every directory below it to w.
func watchTree(w *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return w.Add(p)
		}
		return nil
	})
}
