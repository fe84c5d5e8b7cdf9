package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

// State returns the machine store's backend over the database. Its Close
// leaves the database open: close the DB after the state.Store.
func (db *DB) State() state.Shared { return stateBackend{db} }

// stateBackend is state.Shared over the database.
type stateBackend struct{ db *DB }

// Timeouts of reads on the boot path and of writes.
const (
	readTimeout  = 2 * time.Second
	writeTimeout = 15 * time.Second
)

func ctxFor(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func (b stateBackend) Now() time.Time                     { return b.db.Now() }
func (b stateBackend) Down() error                        { return b.db.Down() }
func (b stateBackend) Replica() string                    { return b.db.cfg.ID }
func (b stateBackend) Replicas() ([]state.Replica, error) { return b.db.Replicas() }
func (b stateBackend) Close() error                       { return nil }

func (b stateBackend) Load(now time.Time) (state.Snapshot, error) {
	ctx, cancel := ctxFor(writeTimeout)
	defer cancel()
	snap := state.Snapshot{Infos: map[hw.MAC]state.Info{}}
	rows, err := b.db.pool.Query(ctx, `SELECT mac, state, revoked_before FROM machines`)
	if err != nil {
		return snap, b.db.check(err)
	}
	for rows.Next() {
		var mac net.HardwareAddr
		var in state.Info
		var rb *time.Time
		if err := rows.Scan(&mac, &in.State, &rb); err != nil {
			return snap, err
		}
		if rb != nil {
			in.RevokedBefore = *rb
		}
		snap.Infos[toMAC(mac)] = in
	}
	if err := rows.Err(); err != nil {
		return snap, b.db.check(err)
	}
	rows, err = b.db.pool.Query(ctx, `SELECT mac, data FROM bindings WHERE until > $1`, now)
	if err != nil {
		return snap, b.db.check(err)
	}
	for rows.Next() {
		var mac net.HardwareAddr
		var bd state.Binding
		if err := rows.Scan(&mac, &bd); err != nil {
			return snap, err
		}
		snap.Bindings = append(snap.Bindings, state.MACBinding{MAC: toMAC(mac), Binding: bd})
	}
	if err := rows.Err(); err != nil {
		return snap, b.db.check(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	var clock []byte
	err = b.db.pool.QueryRow(ctx, `
		WITH ins AS (INSERT INTO meta (key, value) VALUES ('secret', $1) ON CONFLICT (key) DO NOTHING)
		SELECT coalesce((SELECT value FROM meta WHERE key = 'secret'), $1), (SELECT value FROM meta WHERE key = 'clock')`,
		secret).Scan(&snap.Secret, &clock)
	if err != nil {
		return snap, b.db.check(err)
	}
	if len(clock) == 8 {
		snap.Clock = time.Unix(0, int64(binary.BigEndian.Uint64(clock)))
	}
	return snap, nil
}

// Update runs fn in a transaction, again (up to three times) when the
// database chose it as a deadlock's victim.
func (b stateBackend) Update(fn func(state.Tx) error) error {
	var err error
	for range 3 {
		err = b.update(fn)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			break
		}
	}
	return b.db.check(err)
}

func (b stateBackend) update(fn func(state.Tx) error) error {
	ctx, cancel := ctxFor(writeTimeout)
	defer cancel()
	tx, err := b.db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	t := &pgTx{ctx: ctx, tx: tx, batch: &pgx.Batch{}}
	if err := fn(t); err != nil {
		return err
	}
	if t.batch.Len() > 0 {
		if err := tx.SendBatch(ctx, t.batch).Close(); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// pgTx reads at once and queues its writes into one batch, sent at the
// commit: one round trip for a whole batch of events.
type pgTx struct {
	ctx   context.Context
	tx    pgx.Tx
	batch *pgx.Batch
}

// machineLock is the advisory lock key of a machine: "BW" and its MAC.
func machineLock(mac hw.MAC) int64 {
	var k [8]byte
	k[0], k[1] = 0x42, 0x57
	copy(k[2:], mac[:])
	return int64(binary.BigEndian.Uint64(k[:]))
}

// Machines locks macs (in the order given, sorted by the Store, so two
// replicas never deadlock) for the rest of the transaction, then reads
// those that exist.
func (t *pgTx) Machines(macs []hw.MAC) (map[hw.MAC]state.Machine, error) {
	out := map[hw.MAC]state.Machine{}
	if len(macs) == 0 {
		return out, nil
	}
	keys := make([]int64, len(macs))
	addrs := make([]net.HardwareAddr, len(macs))
	for i, m := range macs {
		keys[i], addrs[i] = machineLock(m), m.HardwareAddr()
	}
	if _, err := t.tx.Exec(t.ctx, `SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS u(k, i) ORDER BY i`, keys); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(t.ctx, `SELECT data FROM machines WHERE mac = ANY($1::macaddr[])`, addrs)
	if err != nil {
		return nil, err
	}
	ms, err := pgx.CollectRows(rows, pgx.RowTo[state.Machine])
	for _, m := range ms {
		out[m.MAC] = m
	}
	return out, err
}

func (t *pgTx) PutMachine(m state.Machine) error {
	var rb *time.Time
	if !m.RevokedBefore.IsZero() {
		rb = &m.RevokedBefore
	}
	t.batch.Queue(`INSERT INTO machines (mac, state, last_seen, last_ip, last_ip6, revoked_before, data) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (mac) DO UPDATE SET state = EXCLUDED.state, last_seen = EXCLUDED.last_seen, last_ip = EXCLUDED.last_ip,
			last_ip6 = EXCLUDED.last_ip6, revoked_before = EXCLUDED.revoked_before, data = EXCLUDED.data`,
		m.MAC.HardwareAddr(), m.State, m.LastSeen, orNull(m.LastIP), orNull(m.LastIP6), rb, jsonArg(m))
	return nil
}

// orNull is a as an inet column takes it: NULL when a is not valid.
func orNull(a netip.Addr) *netip.Addr {
	if !a.IsValid() {
		return nil
	}
	return &a
}

// family is the value of the bindings table's family column for a: 6
// for IPv6, 4 for IPv4 (IPv4-mapped included), as state keeps them.
func family(a netip.Addr) int16 {
	if a.Unmap().Is6() {
		return 6
	}
	return 4
}

func (t *pgTx) AddEvent(e state.Event) error {
	t.batch.Queue(`INSERT INTO events (mac, at, replica, data) VALUES ($1, $2, $3, $4)`,
		e.MAC.HardwareAddr(), e.Time, e.Replica, jsonArg(e))
	return nil
}

func (t *pgTx) PutBinding(mac hw.MAC, bd state.Binding) error {
	t.batch.Queue(`INSERT INTO bindings (mac, family, addr, since, until, data) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (mac, family) DO UPDATE SET addr = EXCLUDED.addr, since = EXCLUDED.since, until = EXCLUDED.until, data = EXCLUDED.data`,
		mac.HardwareAddr(), family(bd.Addr), bd.Addr, bd.Since, bd.Until, jsonArg(bd))
	return nil
}

func (t *pgTx) PutSecret(secret []byte) error {
	t.batch.Queue(`INSERT INTO meta (key, value) VALUES ('secret', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, secret)
	return nil
}

// jsonArg is v as JSON text for a json column: Go's encoding, which
// escapes NUL and control characters, kept as it is by the json type.
func jsonArg(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (b stateBackend) Machine(mac hw.MAC) (state.Machine, error) {
	ctx, cancel := ctxFor(readTimeout)
	defer cancel()
	var m state.Machine
	err := b.db.pool.QueryRow(ctx, `SELECT data FROM machines WHERE mac = $1`, mac.HardwareAddr()).Scan(&m)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, fmt.Errorf("%s: %w", mac, state.ErrUnknownMachine)
	}
	return m, b.db.check(err)
}

func (b stateBackend) Machines() ([]state.Machine, error) {
	ctx, cancel := ctxFor(writeTimeout)
	defer cancel()
	rows, err := b.db.pool.Query(ctx, `SELECT data FROM machines`)
	if err != nil {
		return nil, b.db.check(err)
	}
	ms, err := pgx.CollectRows(rows, pgx.RowTo[state.Machine])
	return ms, b.db.check(err)
}

func (b stateBackend) Lookup(macs []hw.MAC) (map[hw.MAC]state.Machine, error) {
	ctx, cancel := ctxFor(readTimeout)
	defer cancel()
	addrs := make([]net.HardwareAddr, len(macs))
	for i, m := range macs {
		addrs[i] = m.HardwareAddr()
	}
	rows, err := b.db.pool.Query(ctx, `SELECT data FROM machines WHERE mac = ANY($1::macaddr[])`, addrs)
	if err != nil {
		return nil, b.db.check(err)
	}
	ms, err := pgx.CollectRows(rows, pgx.RowTo[state.Machine])
	out := make(map[hw.MAC]state.Machine, len(ms))
	for _, m := range ms {
		out[m.MAC] = m
	}
	return out, b.db.check(err)
}

func (b stateBackend) Events(mac hw.MAC, limit int) ([]state.Event, error) {
	ctx, cancel := ctxFor(readTimeout)
	defer cancel()
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := b.db.pool.Query(ctx, `SELECT data FROM events WHERE mac = $1 ORDER BY at DESC, id DESC LIMIT $2`, mac.HardwareAddr(), lim)
	if err != nil {
		return nil, b.db.check(err)
	}
	ev, err := pgx.CollectRows(rows, pgx.RowTo[state.Event])
	for i, j := 0, len(ev)-1; i < j; i, j = i+1, j-1 {
		ev[i], ev[j] = ev[j], ev[i]
	}
	return ev, b.db.check(err)
}

func (b stateBackend) Info(mac hw.MAC) (state.Info, error) {
	ctx, cancel := ctxFor(readTimeout)
	defer cancel()
	var in state.Info
	// One row when mac has no binding, else one per family.
	rows, err := b.db.pool.Query(ctx, `
		SELECT m.data, bd.data, EXISTS (SELECT 1 FROM bindings o WHERE o.addr = bd.addr AND o.mac <> bd.mac AND o.since > bd.since)
		FROM (SELECT $1::macaddr AS mac) q
		LEFT JOIN machines m ON m.mac = q.mac LEFT JOIN bindings bd ON bd.mac = q.mac`, mac.HardwareAddr())
	if err != nil {
		return in, b.db.check(err)
	}
	for rows.Next() {
		var m *state.Machine
		var bd *state.Binding
		var superseded bool
		if err := rows.Scan(&m, &bd, &superseded); err != nil {
			rows.Close()
			return in, b.db.check(err)
		}
		if m != nil {
			in.State, in.RevokedBefore = m.State, m.RevokedBefore
		}
		if bd != nil {
			in.Bindings = append(in.Bindings, state.SharedBinding{Binding: *bd, Superseded: superseded})
		}
	}
	return in, b.db.check(rows.Err())
}

func (b stateBackend) MACAt(ip netip.Addr) (hw.MAC, bool, error) {
	ctx, cancel := ctxFor(readTimeout)
	defer cancel()
	var mac net.HardwareAddr
	err := b.db.pool.QueryRow(ctx, `
		SELECT mac FROM (
			SELECT mac, last_seen AS t FROM machines WHERE last_ip = $1 OR last_ip6 = $1
			UNION ALL SELECT mac, since FROM bindings WHERE addr = $1 AND until > now()) x
		ORDER BY t DESC LIMIT 1`, ip).Scan(&mac)
	if errors.Is(err, pgx.ErrNoRows) {
		return hw.MAC{}, false, nil
	}
	return toMAC(mac), err == nil, b.db.check(err)
}

func (b stateBackend) SaveClock(t time.Time) error {
	ctx, cancel := ctxFor(readTimeout)
	defer cancel()
	v := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	_, err := b.db.pool.Exec(ctx, `INSERT INTO meta (key, value) VALUES ('clock', $1)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value WHERE meta.value < EXCLUDED.value`, v)
	return b.db.check(err)
}

// toMAC is a macaddr column's value as a MAC (zero if it is not 6 bytes).
func toMAC(h net.HardwareAddr) hw.MAC {
	var m hw.MAC
	if len(h) == len(m) {
		copy(m[:], h)
	}
	return m
}
