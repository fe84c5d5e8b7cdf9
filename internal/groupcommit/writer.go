package groupcommit

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Errors a submit reports instead of queueing its item.
var (
	ErrClosed = errors.New("groupcommit: writer closed")
	ErrFull   = errors.New("groupcommit: queue full")
)

// DefaultMaxBatch is the batch bound when Config.MaxBatch is zero.
const DefaultMaxBatch = 1024

// Config says how a Writer writes. Zero values mean the defaults given.
type Config[T any] struct {
	// Apply writes batch inside tx; an error rolls the whole batch back.
	// Required by Start.
	Apply func(tx *bolt.Tx, batch []T) error
	// Commit writes batch durably, all or nothing, to a store other than
	// bbolt (a SQL database). Required by New, which ignores Apply.
	Commit func(batch []T) error
	// Retry, if set, is asked about each failed commit: a positive wait
	// keeps the batch and commits it again after that long (the database
	// is down and comes back), while items go on queueing up to Queue;
	// zero gives up on the batch. After Close a failing batch is tried
	// once more and then given up.
	Retry func(err error) time.Duration
	// After, if set, runs after each transaction with its batch and the
	// transaction's result (nil once it is durable), before the items'
	// own callbacks.
	After func(batch []T, err error)
	// Name, if set, prefixes every error the Writer returns or reports,
	// as "Name: err", so that it names the database (once a batch rather
	// than once an item).
	Name string
	// MaxBatch bounds the items in one transaction; zero means
	// DefaultMaxBatch.
	MaxBatch int
	// Queue is how many items may wait for the writer; zero means
	// MaxBatch.
	Queue int
	// Linger is how long the writer waits for more items after the first
	// of a batch, before committing it short of MaxBatch. Zero means no
	// wait: what queued while the last transaction synced is batch enough
	// for callers that wait on each item. A linger bounds the commit rate
	// of callers that do not.
	Linger time.Duration
}

// Writer queues items and commits them in batches from one goroutine.
// Apply, After and the callbacks all run on that goroutine, one batch at
// a time, items in the order they were queued; none of them may submit to
// the same Writer.
type Writer[T any] struct {
	commit func([]T) error
	cfg    Config[T]

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool
	reqs   chan request[T]
	quit   chan struct{} // closed by Close: stop waiting to retry
	done   chan struct{}
}

type request[T any] struct {
	item T
	then func(error)
}

// Start returns a Writer committing to db with cfg.Apply, its goroutine
// running.
func Start[T any](db *bolt.DB, cfg Config[T]) *Writer[T] {
	apply := cfg.Apply
	cfg.Commit = func(batch []T) error {
		return db.Update(func(tx *bolt.Tx) error { return apply(tx, batch) })
	}
	return New(cfg)
}

// New returns a Writer committing with cfg.Commit, its goroutine running.
func New[T any](cfg Config[T]) *Writer[T] {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.Queue <= 0 {
		cfg.Queue = cfg.MaxBatch
	}
	w := &Writer[T]{commit: cfg.Commit, cfg: cfg, reqs: make(chan request[T], cfg.Queue),
		quit: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// Queued returns how many items wait for the writer, not counting the
// batch being committed.
func (w *Writer[T]) Queued() int { return len(w.reqs) }

// Submit queues item, waiting while the queue is full. then, if not nil,
// runs once: with nil after the transaction holding item is durable, with
// that transaction's error if it failed, or at once with ErrClosed after
// Close.
func (w *Writer[T]) Submit(item T, then func(error)) {
	if err := w.submit(request[T]{item, then}, true); err != nil && then != nil {
		then(err)
	}
}

// TrySubmit queues item if there is room, without waiting. It returns
// ErrFull or ErrClosed, and then never runs, when item was not queued;
// otherwise then, if not nil, runs once as for Submit.
func (w *Writer[T]) TrySubmit(item T, then func(error)) error {
	return w.submit(request[T]{item, then}, false)
}

func (w *Writer[T]) submit(r request[T], wait bool) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return w.named(ErrClosed)
	}
	if wait {
		w.reqs <- r
		return nil
	}
	select {
	case w.reqs <- r:
		return nil
	default:
		return w.named(ErrFull)
	}
}

func (w *Writer[T]) named(err error) error {
	if err == nil || w.cfg.Name == "" {
		return err
	}
	return fmt.Errorf("%s: %w", w.cfg.Name, err)
}

// Close commits what is queued and stops the writer; later submits fail
// with ErrClosed. It returns once the last batch's callbacks have run, and
// may be called more than once. It leaves the database open.
func (w *Writer[T]) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
		close(w.quit)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *Writer[T]) run() {
	defer close(w.done)
	var linger *time.Timer
	if w.cfg.Linger > 0 {
		linger = time.NewTimer(w.cfg.Linger)
		linger.Stop()
	}
	batch := make([]T, 0, w.cfg.MaxBatch)
	thens := make([]func(error), 0, w.cfg.MaxBatch)
	for first := range w.reqs {
		batch, thens = append(batch, first.item), append(thens, first.then)
		batch, thens = w.fill(batch, thens, linger)
		err := w.named(w.commitBatch(batch))
		if w.cfg.After != nil {
			w.cfg.After(batch, err)
		}
		for _, then := range thens {
			if then != nil {
				then(err)
			}
		}
		clear(batch) // let the items go before the next batch arrives
		clear(thens)
		batch, thens = batch[:0], thens[:0]
	}
}

// commitBatch commits batch, again and again while Retry asks for it.
func (w *Writer[T]) commitBatch(batch []T) error {
	for {
		err := w.commit(batch)
		if err == nil || w.cfg.Retry == nil {
			return err
		}
		wait := w.cfg.Retry(err)
		if wait <= 0 {
			return err
		}
		select {
		case <-w.quit:
			return w.commit(batch) // closing: one last try
		case <-time.After(wait):
		}
	}
}

// fill adds queued requests to the batch until it holds MaxBatch or the
// queue is empty; with a linger timer, an empty queue is waited on until
// the timer fires.
func (w *Writer[T]) fill(batch []T, thens []func(error), linger *time.Timer) ([]T, []func(error)) {
	var expired <-chan time.Time
	if linger != nil {
		linger.Reset(w.cfg.Linger)
		defer linger.Stop()
		expired = linger.C
	}
	for len(batch) < w.cfg.MaxBatch {
		var r request[T]
		var ok bool
		select {
		case r, ok = <-w.reqs:
		default:
			if expired == nil {
				return batch, thens
			}
			select {
			case r, ok = <-w.reqs:
			case <-expired:
				expired = nil // take what is queued by now, and go
				continue
			}
		}
		if !ok {
			return batch, thens
		}
		batch, thens = append(batch, r.item), append(thens, r.then)
	}
	return batch, thens
}
