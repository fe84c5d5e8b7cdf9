package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bootwright/bootwright/internal/groupcommit"
	"github.com/bootwright/bootwright/internal/lease"
)

// LeaseStore is the lease.Store of replicas sharing the database: every
// claim is decided by the database, in one statement that inserts the
// lease or updates the row of its address only if lease.Op.Apply allows
// it (the address's primary key makes two rows for one address
// impossible, and the row lock orders concurrent claims), so no address
// is ever leased to two live clients whatever the replicas believed.
// Expiries are compared with the database's clock.
//
// Requests are group-committed as in the bbolt store: grants, releases
// and declines in transactions that are on disk before the ACKs go out,
// offers in transactions committed without waiting for the disk (an
// offer lost in a crash costs a client one more DISCOVER, never an
// address).
type LeaseStore struct {
	db      *DB
	loaded  []lease.Lease
	durable *groupcommit.Writer[*leaseReq]
	offers  *groupcommit.Writer[*leaseReq]
	lastSeq int64 // the watcher's (Watch)
	stop    chan struct{}
	done    chan struct{}
}

type leaseReq struct {
	ops []lease.Op
	err error
}

// Leases opens the lease store and reads the live leases.
func (db *DB) Leases() (*LeaseStore, error) {
	ctx, cancel := ctxFor(writeTimeout)
	defer cancel()
	s := &LeaseStore{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	if err := db.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM leases`).Scan(&s.lastSeq); err != nil {
		return nil, db.check(err)
	}
	var err error
	if s.loaded, err = s.query(ctx, `SELECT addr, mac, expiry, state FROM leases WHERE expiry > now()`); err != nil {
		return nil, err
	}
	s.durable = groupcommit.New(groupcommit.Config[*leaseReq]{MaxBatch: 1024, Name: "lease database",
		Commit: func(b []*leaseReq) error { return s.commit(b, false) }})
	s.offers = groupcommit.New(groupcommit.Config[*leaseReq]{MaxBatch: 1024, Name: "lease database",
		Commit: func(b []*leaseReq) error { return s.commit(b, true) }})
	close(s.done)
	return s, nil
}

func (s *LeaseStore) String() string { return "PostgreSQL, replica " + s.db.cfg.ID }

// Leases returns the leases live when the store was opened.
func (s *LeaseStore) Leases() []lease.Lease { return s.loaded }

// Down returns why the database cannot be reached, or nil.
func (s *LeaseStore) Down() error { return s.db.Down() }

// Commit queues one request's ops; see lease.Store.
func (s *LeaseStore) Commit(ops []lease.Op, then func(error)) {
	if err := s.db.Down(); err != nil {
		then(err)
		return
	}
	w := s.offers
	for _, op := range ops {
		if op.Kind.Durable() {
			w = s.durable
			break
		}
	}
	r := &leaseReq{ops: ops}
	w.Submit(r, func(err error) {
		if err == nil {
			err = r.err
		}
		then(err)
	})
}

// Close writes what is queued and stops the watcher. The DB stays open.
func (s *LeaseStore) Close() error {
	s.durable.Close()
	s.offers.Close()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return nil
}

// commit decides and writes a batch in one transaction, again when the
// database chose it as a deadlock's victim (claims are made in address
// order, so that is rare).
func (s *LeaseStore) commit(batch []*leaseReq, async bool) error {
	var err error
	for range 3 {
		for _, r := range batch {
			r.err = nil
		}
		err = s.commitOnce(batch, async)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			break
		}
	}
	return s.db.check(err)
}

// claim is one op of one request of a batch.
type claim struct {
	r  *leaseReq
	op lease.Op
}

// The statements of a batch. A claim's INSERT touches the row only when
// lease.Op.Apply allows it; the SELECT after it reads what stands.
const (
	sqlOffer = `INSERT INTO leases AS l (addr, mac, expiry, state, replica) VALUES ($1, $2, $3, 1, $4)
		ON CONFLICT (addr) DO UPDATE SET mac = EXCLUDED.mac, expiry = EXCLUDED.expiry, state = 1,
			replica = EXCLUDED.replica, seq = nextval('lease_seq')
		WHERE l.expiry <= now() OR (l.state = 1 AND (l.mac = EXCLUDED.mac OR $5))`
	sqlBind = `INSERT INTO leases AS l (addr, mac, expiry, state, replica) VALUES ($1, $2, $3, 2, $4)
		ON CONFLICT (addr) DO UPDATE SET mac = EXCLUDED.mac, expiry = EXCLUDED.expiry, state = 2,
			replica = EXCLUDED.replica, seq = nextval('lease_seq')
		WHERE l.expiry <= now() OR (l.mac = EXCLUDED.mac AND l.state <> 3)`
	sqlHolder  = `SELECT mac, expiry, state, expiry > now() FROM leases WHERE addr = $1`
	sqlRelease = `UPDATE leases SET expiry = now(), replica = $3, seq = nextval('lease_seq')
		WHERE addr = $1 AND mac = $2 AND expiry > now() AND state <> 3`
	sqlCancel = `UPDATE leases SET expiry = now(), replica = $3, seq = nextval('lease_seq')
		WHERE addr = $1 AND mac = $2 AND expiry > now() AND state = 1`
	sqlDecline = `UPDATE leases SET state = 3, expiry = $4, replica = $3, seq = nextval('lease_seq')
		WHERE addr = $1 AND mac = $2 AND expiry > now() AND state <> 3`
)

func (s *LeaseStore) commitOnce(batch []*leaseReq, async bool) error {
	ctx, cancel := ctxFor(writeTimeout)
	defer cancel()
	tx, err := s.db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if async {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
	}
	var claims, rest []claim
	for _, r := range batch {
		for _, op := range r.ops {
			if op.Kind == lease.Offer || op.Kind == lease.Bind {
				claims = append(claims, claim{r, op})
			} else {
				rest = append(rest, claim{r, op})
			}
		}
	}
	if err := s.claim(ctx, tx, claims); err != nil {
		return err
	}
	if err := s.apply(ctx, tx, rest); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func byAddr(a, b claim) int { return a.op.Addr.Compare(b.op.Addr) }

// claim makes the batch's claims in address order and decides each by
// what its statement did and what stands after it.
func (s *LeaseStore) claim(ctx context.Context, tx pgx.Tx, claims []claim) error {
	if len(claims) == 0 {
		return nil
	}
	slices.SortStableFunc(claims, byAddr)
	b := &pgx.Batch{}
	for _, c := range claims {
		if c.op.Kind == lease.Offer {
			b.Queue(sqlOffer, c.op.Addr, c.op.MAC.HardwareAddr(), c.op.Expiry, s.db.cfg.ID, c.op.Takeover)
		} else {
			b.Queue(sqlBind, c.op.Addr, c.op.MAC.HardwareAddr(), c.op.Expiry, s.db.cfg.ID)
		}
		b.Queue(sqlHolder, c.op.Addr)
	}
	res := tx.SendBatch(ctx, b)
	defer res.Close()
	for _, c := range claims {
		tag, err := res.Exec()
		if err != nil {
			return err
		}
		var h net.HardwareAddr
		holder := lease.Lease{Addr: c.op.Addr}
		var live bool
		if err := res.QueryRow().Scan(&h, &holder.Expiry, &holder.State, &live); err != nil {
			return err
		}
		holder.MAC = toMAC(h)
		switch {
		case c.r.err != nil:
		case tag.RowsAffected() == 1:
		case c.op.Kind == lease.Offer && live && holder.MAC == c.op.MAC && holder.State == lease.Bound:
			// Its own lease stands; the offer repeats it.
		default:
			c.r.err = &lease.ConflictError{Op: c.op, Holder: holder}
		}
	}
	return res.Close()
}

// apply makes the ops that claim nothing (releases, cancellations,
// declines) of the requests whose claims were all made.
func (s *LeaseStore) apply(ctx context.Context, tx pgx.Tx, ops []claim) error {
	ops = slices.DeleteFunc(ops, func(c claim) bool { return c.r.err != nil })
	if len(ops) == 0 {
		return nil
	}
	slices.SortStableFunc(ops, byAddr)
	b := &pgx.Batch{}
	for _, c := range ops {
		args := []any{c.op.Addr, c.op.MAC.HardwareAddr(), s.db.cfg.ID}
		switch c.op.Kind {
		case lease.Release:
			b.Queue(sqlRelease, args...)
		case lease.Cancel:
			b.Queue(sqlCancel, args...)
		case lease.Decline:
			b.Queue(sqlDecline, append(args, c.op.Expiry)...)
		default:
			return fmt.Errorf("lease op %s: unknown kind", c.op.Kind)
		}
	}
	return tx.SendBatch(ctx, b).Close()
}

// query reads leases.
func (s *LeaseStore) query(ctx context.Context, sql string, args ...any) ([]lease.Lease, error) {
	rows, err := s.db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, s.db.check(err)
	}
	defer rows.Close()
	var out []lease.Lease
	for rows.Next() {
		l, err := scanLease(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, s.db.check(rows.Err())
}

// scanLease reads a row's addr, mac, expiry and state, then into more
// the columns after them.
func scanLease(rows pgx.Rows, more ...any) (lease.Lease, error) {
	var l lease.Lease
	var h net.HardwareAddr
	if err := rows.Scan(append([]any{&l.Addr, &h, &l.Expiry, &l.State}, more...)...); err != nil {
		return lease.Lease{}, err
	}
	l.MAC, l.Addr = toMAC(h), l.Addr.Unmap()
	return l, nil
}

// WatchEvery is how often Watch reads what the other replicas changed;
// FullEvery is how often it reads every live lease again.
const (
	WatchEvery = 250 * time.Millisecond
	FullEvery  = time.Minute
)

// watchOverlap is how far back in the sequence each read starts: a
// transaction that took its numbers before another but committed after
// it is read on the next round.
const watchOverlap = 512

// Watch calls learn, from a goroutine of its own until Close, with the
// leases the other replicas wrote (as they stand now), so that this
// replica's pools know which addresses are taken.
func (s *LeaseStore) Watch(learn func([]lease.Lease)) {
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(WatchEvery)
		defer t.Stop()
		full := time.Now()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			if s.db.Down() != nil {
				continue
			}
			ctx, cancel := ctxFor(readTimeout)
			var ls []lease.Lease
			var err error
			if time.Since(full) > FullEvery {
				full = time.Now()
				ls, err = s.query(ctx, `SELECT addr, mac, expiry, state FROM leases WHERE replica <> $1 AND expiry > now() - interval '1 minute'`, s.db.cfg.ID)
			} else {
				ls, err = s.changes(ctx)
			}
			cancel()
			if err == nil && len(ls) > 0 {
				learn(ls)
			}
		}
	}()
}

// changes reads the rows other replicas wrote since the last read.
func (s *LeaseStore) changes(ctx context.Context) ([]lease.Lease, error) {
	rows, err := s.db.pool.Query(ctx, `SELECT addr, mac, expiry, state, seq FROM leases
		WHERE seq > $1 AND replica <> $2 ORDER BY seq LIMIT 20000`, s.lastSeq-watchOverlap, s.db.cfg.ID)
	if err != nil {
		return nil, s.db.check(err)
	}
	defer rows.Close()
	var out []lease.Lease
	for rows.Next() {
		var seq int64
		l, err := scanLease(rows, &seq)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
		s.lastSeq = max(s.lastSeq, seq)
	}
	return out, s.db.check(rows.Err())
}

var _ lease.Store = (*LeaseStore)(nil)
