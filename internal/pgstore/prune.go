package pgstore

import (
	"net"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

// Recent lists by the index on last_seen: without a Keep function it
// reads only each machine's MAC, picks the limit newest that f does not
// skip, and decodes only those.
func (b stateBackend) Recent(limit int, f state.Filter) ([]state.Machine, int, error) {
	ctx, cancel := ctxFor(writeTimeout)
	defer cancel()
	if f.Keep != nil {
		rows, err := b.db.pool.Query(ctx, `SELECT data FROM machines ORDER BY last_seen DESC, mac`)
		if err != nil {
			return nil, 0, b.db.check(err)
		}
		ms, err := pgx.CollectRows(rows, pgx.RowTo[state.Machine])
		if err != nil {
			return nil, 0, b.db.check(err)
		}
		var out []state.Machine
		total := 0
		for _, m := range ms {
			if f.SkipMAC != nil && f.SkipMAC(m.MAC) || !f.Keep(&m) {
				continue
			}
			total++
			if len(out) < limit {
				out = append(out, m)
			}
		}
		return out, total, nil
	}
	rows, err := b.db.pool.Query(ctx, `SELECT mac FROM machines ORDER BY last_seen DESC, mac`)
	if err != nil {
		return nil, 0, b.db.check(err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[net.HardwareAddr])
	if err != nil {
		return nil, 0, b.db.check(err)
	}
	var pick []hw.MAC
	total := 0
	for _, h := range all {
		mac := toMAC(h)
		if f.SkipMAC != nil && f.SkipMAC(mac) {
			continue
		}
		total++
		if len(pick) < limit {
			pick = append(pick, mac)
		}
	}
	got, err := b.Lookup(pick)
	if err != nil {
		return nil, 0, err
	}
	out := make([]state.Machine, 0, len(pick))
	for _, mac := range pick {
		if m, ok := got[mac]; ok {
			out = append(out, m)
		}
	}
	return out, total, nil
}

// Prune runs on one replica at a time (the others skip while it holds the
// lock): old and excess events, ended bindings, forgotten machines, and
// leases that ended a day ago.
func (b stateBackend) Prune(now time.Time, lim state.Limits) (int, []hw.MAC, error) {
	ctx, cancel := ctxFor(5 * time.Minute)
	defer cancel()
	conn, err := b.db.pool.Acquire(ctx)
	if err != nil {
		return 0, nil, b.db.check(err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockPrune).Scan(&got); err != nil || !got {
		return 0, nil, b.db.check(err)
	}
	defer conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lockPrune)
	tag, err := conn.Exec(ctx, `DELETE FROM events WHERE at < $1`, now.Add(-lim.MaxAge))
	if err != nil {
		return 0, nil, b.db.check(err)
	}
	n := int(tag.RowsAffected())
	tag, err = conn.Exec(ctx, `DELETE FROM events e USING (
			SELECT id, row_number() OVER (PARTITION BY mac ORDER BY at DESC, id DESC) AS rn FROM events) r
		WHERE e.id = r.id AND r.rn > $1`, lim.MaxPerMachine)
	if err != nil {
		return n, nil, b.db.check(err)
	}
	n += int(tag.RowsAffected())
	if _, err := conn.Exec(ctx, `DELETE FROM bindings WHERE until <= $1`, now); err != nil {
		return n, nil, b.db.check(err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM leases WHERE expiry < $1`, now.Add(-24*time.Hour)); err != nil {
		return n, nil, b.db.check(err)
	}
	rows, err := conn.Query(ctx, `SELECT mac, state, last_seen FROM machines`)
	if err != nil {
		return n, nil, b.db.check(err)
	}
	var ms []state.Machine
	for rows.Next() {
		var h net.HardwareAddr
		var m state.Machine
		if err := rows.Scan(&h, &m.State, &m.LastSeen); err != nil {
			return n, nil, err
		}
		m.MAC = toMAC(h)
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return n, nil, b.db.check(err)
	}
	forget := state.Forgotten(ms, now, lim)
	if len(forget) == 0 {
		return n, nil, nil
	}
	addrs := make([]net.HardwareAddr, len(forget))
	for i, m := range forget {
		addrs[i] = m.HardwareAddr()
	}
	_, err = conn.Exec(ctx, `WITH e AS (DELETE FROM events WHERE mac = ANY($1::macaddr[]))
		DELETE FROM machines WHERE mac = ANY($1::macaddr[])`, addrs)
	return n, forget, b.db.check(err)
}

// All reads each table in turn.
func (b stateBackend) All(fn func(state.Item) error) error {
	ctx, cancel := ctxFor(time.Hour)
	defer cancel()
	var secret []byte
	err := b.db.pool.QueryRow(ctx, `SELECT value FROM meta WHERE key = 'secret'`).Scan(&secret)
	if err != nil && err != pgx.ErrNoRows {
		return b.db.check(err)
	}
	if len(secret) == 32 {
		if err := fn(state.Item{Secret: secret}); err != nil {
			return err
		}
	}
	each := func(sql string, item func(pgx.Rows) (state.Item, error)) error {
		rows, err := b.db.pool.Query(ctx, sql)
		if err != nil {
			return b.db.check(err)
		}
		defer rows.Close()
		for rows.Next() {
			it, err := item(rows)
			if err == nil {
				err = fn(it)
			}
			if err != nil {
				return err
			}
		}
		return b.db.check(rows.Err())
	}
	err = each(`SELECT data FROM machines ORDER BY mac`, func(r pgx.Rows) (state.Item, error) {
		var m state.Machine
		return state.Item{Machine: &m}, r.Scan(&m)
	})
	if err != nil {
		return err
	}
	err = each(`SELECT mac, data FROM bindings ORDER BY mac`, func(r pgx.Rows) (state.Item, error) {
		var h net.HardwareAddr
		var mb state.MACBinding
		err := r.Scan(&h, &mb.Binding)
		mb.MAC = toMAC(h)
		return state.Item{Binding: &mb}, err
	})
	if err != nil {
		return err
	}
	return each(`SELECT data FROM events ORDER BY mac, at, id`, func(r pgx.Rows) (state.Item, error) {
		var e state.Event
		return state.Item{Event: &e}, r.Scan(&e)
	})
}
