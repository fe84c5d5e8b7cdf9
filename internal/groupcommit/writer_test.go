package groupcommit

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	bolt "go.etcd.io/bbolt"
)

var (
	bucket  = []byte("items")
	errBoom = errors.New("boom")
)

// fixture is a Writer[int] over a fresh file whose Apply stores each item
// under its own key, fails the batch holding failOn, and with hold keeps
// the first transaction open until release is closed.
type fixture struct {
	db      *bolt.DB
	w       *Writer[int]
	entered chan struct{} // closed when the first transaction starts
	release chan struct{}
	batches [][]int // as After saw them
	errs    []error // After's error for each batch
	calls   []int   // items in the order their callbacks ran
	results map[int]error
}

func newFixture(t *testing.T, cfg Config[int], failOn int, hold bool) *fixture {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "gc.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, entered: make(chan struct{}), release: make(chan struct{}), results: map[int]error{}}
	if !hold {
		close(f.release)
	}
	cfg.Apply = func(tx *bolt.Tx, batch []int) error {
		select {
		case <-f.entered:
		default:
			close(f.entered)
			<-f.release
		}
		for _, n := range batch {
			if n == failOn {
				return errBoom
			}
			if err := tx.Bucket(bucket).Put(binary.BigEndian.AppendUint32(nil, uint32(n)), nil); err != nil {
				return err
			}
		}
		return nil
	}
	cfg.After = func(batch []int, err error) {
		f.batches = append(f.batches, append([]int(nil), batch...))
		f.errs = append(f.errs, err)
	}
	f.w = Start(db, cfg)
	t.Cleanup(f.w.Close)
	return f
}

// then returns n's callback, which records its result.
func (f *fixture) then(n int) func(error) {
	return func(err error) {
		f.calls = append(f.calls, n)
		f.results[n] = err
	}
}

// stored returns the items in the file.
func (f *fixture) stored(t *testing.T) []int {
	t.Helper()
	var got []int
	err := f.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			got = append(got, int(binary.BigEndian.Uint32(k)))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWriter(t *testing.T) {
	tests := map[string]struct {
		cfg     Config[int]
		items   []int
		wait    bool // wait for each item's callback before the next
		hold    bool // queue items 2.. while item 1's transaction is open
		failOn  int
		batches [][]int
		failed  []int // items whose callbacks get errBoom
		errs    []error
		stored  []int
	}{
		"one at a time, each its own transaction": {
			items: []int{1, 2, 3}, wait: true,
			batches: [][]int{{1}, {2}, {3}}, errs: []error{nil, nil, nil}, stored: []int{1, 2, 3},
		},
		"what queues during a transaction is the next batch": {
			items: []int{1, 2, 3, 4, 5}, hold: true,
			batches: [][]int{{1}, {2, 3, 4, 5}}, errs: []error{nil, nil}, stored: []int{1, 2, 3, 4, 5},
		},
		"MaxBatch bounds a batch": {
			cfg:   Config[int]{MaxBatch: 2, Queue: 8},
			items: []int{1, 2, 3, 4, 5}, hold: true,
			batches: [][]int{{1}, {2, 3}, {4, 5}}, errs: []error{nil, nil, nil}, stored: []int{1, 2, 3, 4, 5},
		},
		"a failed batch fails every item in it and no other": {
			cfg:   Config[int]{Name: "test db"}, // wrapped, errBoom is still errBoom
			items: []int{1, 2, 3, 4}, hold: true, failOn: 3,
			batches: [][]int{{1}, {2, 3, 4}}, errs: []error{nil, errBoom}, failed: []int{2, 3, 4}, stored: []int{1},
		},
		"an item alone is committed when the linger ends": {
			cfg:   Config[int]{Linger: 5 * time.Millisecond},
			items: []int{1, 2}, wait: true,
			batches: [][]int{{1}, {2}}, errs: []error{nil, nil}, stored: []int{1, 2},
		},
		"linger gathers a trickle until the batch is full, Close ends it": {
			cfg:     Config[int]{MaxBatch: 3, Linger: time.Hour},
			items:   []int{1, 2, 3, 4},
			batches: [][]int{{1, 2, 3}, {4}}, errs: []error{nil, nil}, stored: []int{1, 2, 3, 4},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, tc.cfg, tc.failOn, tc.hold)
			for i, n := range tc.items {
				done := make(chan struct{})
				then := f.then(n)
				f.w.Submit(n, func(err error) { then(err); close(done) })
				if tc.wait {
					<-done
				}
				if tc.hold && i == 0 {
					<-f.entered
				}
			}
			closed := make(chan struct{})
			go func() { f.w.Close(); close(closed) }() // Close commits what is queued
			if tc.hold {
				close(f.release)
			}
			<-closed
			want := map[int]error{}
			for _, n := range tc.items {
				want[n] = nil
			}
			for _, n := range tc.failed {
				want[n] = errBoom
			}
			if diff := cmp.Diff(tc.batches, f.batches); diff != "" {
				t.Errorf("batches (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.errs, f.errs, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("After's errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.items, f.calls); diff != "" {
				t.Errorf("callback order (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, f.results, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("callback errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.stored, f.stored(t)); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrySubmitFullQueue(t *testing.T) {
	f := newFixture(t, Config[int]{MaxBatch: 4, Queue: 2}, 0, true)
	if err := f.w.TrySubmit(1, f.then(1)); err != nil {
		t.Fatal(err)
	}
	<-f.entered // 1 is out of the queue and in a transaction that waits
	for n := 2; n <= 3; n++ {
		if err := f.w.TrySubmit(n, f.then(n)); err != nil {
			t.Fatalf("TrySubmit(%d) with room in the queue: %v", n, err)
		}
	}
	if err := f.w.TrySubmit(4, f.then(4)); !errors.Is(err, ErrFull) {
		t.Errorf("TrySubmit to a full queue = %v, want ErrFull", err)
	}
	close(f.release)
	f.w.Close()
	if diff := cmp.Diff([]int{1, 2, 3}, f.calls); diff != "" {
		t.Errorf("callbacks (-want +got), 4 must have none:\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 2, 3}, f.stored(t)); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
}

func TestSubmitAfterClose(t *testing.T) {
	f := newFixture(t, Config[int]{Name: "test db"}, 0, false)
	f.w.Submit(1, nil) // a nil callback is allowed
	f.w.Close()
	f.w.Close() // a second Close is harmless
	var got error
	f.w.Submit(2, func(err error) { got = err })
	if !errors.Is(got, ErrClosed) || got.Error() != "test db: groupcommit: writer closed" {
		t.Errorf("Submit after Close called back with %v, want ErrClosed named at once", got)
	}
	if err := f.w.TrySubmit(3, f.then(3)); !errors.Is(err, ErrClosed) {
		t.Errorf("TrySubmit after Close = %v, want ErrClosed", err)
	}
	if len(f.calls) != 0 {
		t.Errorf("a refused TrySubmit's callback ran: %v", f.calls)
	}
	if diff := cmp.Diff([]int{1}, f.stored(t)); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
}

// TestRetryKeepsTheBatch fails the first commits, as a database that is
// down would: with Retry the batch is committed once it comes back, in
// order, and what queued meanwhile follows; nothing is lost or repeated.
func TestRetryKeepsTheBatch(t *testing.T) {
	var committed [][]int
	down := 3
	var retries []error
	w := New(Config[int]{
		Commit: func(batch []int) error {
			if down > 0 {
				down--
				return errBoom
			}
			committed = append(committed, append([]int(nil), batch...))
			return nil
		},
		Retry: func(err error) time.Duration {
			retries = append(retries, err)
			return time.Millisecond
		},
		MaxBatch: 2, Queue: 16,
	})
	results := make(chan error, 5)
	for i := range 5 {
		w.Submit(i, func(err error) { results <- err })
	}
	for range 5 {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	var got []int
	for _, b := range committed {
		got = append(got, b...)
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4}, got); diff != "" {
		t.Errorf("committed (-want +got):\n%s", diff)
	}
	if len(retries) != 3 {
		t.Errorf("Retry asked %d times, want 3", len(retries))
	}
}

// TestCloseStopsRetrying: a store that never comes back does not hold
// Close: the batch is tried once more and its callbacks get the error.
func TestCloseStopsRetrying(t *testing.T) {
	w := New(Config[int]{
		Commit: func([]int) error { return errBoom },
		Retry:  func(error) time.Duration { return time.Hour },
	})
	got := make(chan error, 1)
	w.Submit(1, func(err error) { got <- err })
	time.Sleep(10 * time.Millisecond)
	done := make(chan struct{})
	go func() { w.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the retry")
	}
	if err := <-got; !errors.Is(err, errBoom) {
		t.Errorf("callback got %v, want boom", err)
	}
}
