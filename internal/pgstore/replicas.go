package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

// ClockWarning is how far this host's clock may be from the database's
// before the replica warns about it. Leases, tokens and revocations use
// the database's clock whatever the host's says, but a host that far off
// has a broken time service, which logs and other tools notice.
const ClockWarning = 2 * time.Second

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// register writes this replica's row. A row with the same ID whose
// heartbeat is live belongs to another process (or to this replica
// before a kill -9): it is waited for until it is dead, then taken over.
func (db *DB) register(ctx context.Context) error {
	for {
		tag, err := db.pool.Exec(ctx, `
			INSERT INTO replicas AS r (id, instance, hostname, address, version, commit, dhcp, started, heartbeat)
			VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp(), clock_timestamp())
			ON CONFLICT (id) DO UPDATE SET instance = EXCLUDED.instance, hostname = EXCLUDED.hostname,
				address = EXCLUDED.address, version = EXCLUDED.version, commit = EXCLUDED.commit, dhcp = EXCLUDED.dhcp,
				started = EXCLUDED.started, heartbeat = EXCLUDED.heartbeat, stopped = NULL
			WHERE r.stopped IS NOT NULL OR r.heartbeat < clock_timestamp() - $8::interval`,
			db.cfg.ID, db.instance, db.cfg.Hostname, db.cfg.Address, db.cfg.Version, db.commit(), db.cfg.DHCP,
			db.cfg.DeadAfter.String())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		db.log.Warn("state database: another live bootwright has this replica's ID; waiting for its heartbeat to stop",
			"replica", db.cfg.ID, "dead_after", db.cfg.DeadAfter)
		select {
		case <-ctx.Done():
			return fmt.Errorf("replica ID %q is in use by another live bootwright (--replica-id)", db.cfg.ID)
		case <-time.After(db.cfg.Heartbeat):
		}
	}
}

func (db *DB) commit() string {
	if db.cfg.Commit == nil {
		return ""
	}
	return db.cfg.Commit()
}

// heartbeats runs until Close: every Heartbeat it beats, and marks the
// database down or up by the result.
func (db *DB) heartbeats() {
	defer close(db.done)
	t := time.NewTicker(db.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*db.cfg.Heartbeat)
		err := db.beat(ctx)
		cancel()
		if err != nil && isConnErr(err) {
			db.setDown(err)
			continue
		}
		if err != nil {
			db.log.Warn("state database: heartbeat failed", "err", err)
			continue
		}
		db.setDown(nil)
	}
}

// beat says this replica is alive, measures the clocks and reads the
// live replicas.
func (db *DB) beat(ctx context.Context) error {
	t0 := time.Now()
	var dbNow time.Time
	var live []string
	err := db.pool.QueryRow(ctx, `
		WITH me AS (
			UPDATE replicas SET heartbeat = clock_timestamp(), commit = $3, clock_offset = $4
			WHERE id = $1 AND instance = $2 RETURNING 1)
		SELECT clock_timestamp(), (SELECT count(*) FROM me),
			coalesce((SELECT array_agg(id ORDER BY id) FROM replicas
				WHERE dhcp AND stopped IS NULL AND heartbeat > clock_timestamp() - $5::interval), '{}')`,
		db.cfg.ID, db.instance, db.commit(), db.offset.Load(), db.cfg.DeadAfter.String()).Scan(&dbNow, new(int), &live)
	if err != nil {
		return err
	}
	t1 := time.Now()
	off := dbNow.Sub(t0.Add(t1.Sub(t0) / 2))
	db.offset.Store(int64(off))
	if (off > ClockWarning || off < -ClockWarning) && time.Since(db.warned) > 10*time.Minute {
		db.warned = time.Now()
		db.log.Warn("state database: this host's clock is far from the database's; replicas use the database's",
			"offset", off.Round(time.Millisecond).String(), "replica", db.cfg.ID)
	}
	if db.cfg.DHCP && !contains(live, db.cfg.ID) {
		live = append(live, db.cfg.ID) // itself, even when another took its row
		sort.Strings(live)
	}
	db.live.Store(&live)
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Now is the database's clock as this replica reckons it: its own clock
// moved by the offset measured at the last heartbeat.
func (db *DB) Now() time.Time { return time.Now().Add(time.Duration(db.offset.Load())) }

// ClockOffset is the database's clock minus this host's.
func (db *DB) ClockOffset() time.Duration { return time.Duration(db.offset.Load()) }

// Owner reports whether this replica answers mac's DISCOVERs: of the live
// replicas serving DHCP, the one whose hash with mac is highest
// (rendezvous hashing, in the spirit of RFC 3074's split of clients by
// hash). A replica joining or leaving moves only its own share.
func (db *DB) Owner(mac hw.MAC) bool { return db.OwnerOf(mac) == db.cfg.ID }

// OwnerOf names the live replica that answers mac's DISCOVERs.
func (db *DB) OwnerOf(mac hw.MAC) string {
	p := db.live.Load()
	if p == nil || len(*p) == 0 {
		return db.cfg.ID
	}
	return Rendezvous(*p, mac)
}

// Rendezvous returns the replica of ids that mac belongs to.
func Rendezvous(ids []string, mac hw.MAC) string {
	var best string
	var bestH uint64
	for _, id := range ids {
		h := fnv.New64a()
		h.Write([]byte(id))
		h.Write([]byte{0})
		h.Write(mac[:])
		// FNV's last bytes mix poorly into its high bits: finish it.
		v := h.Sum64()
		v ^= v >> 33
		v *= 0xff51afd7ed558ccd
		v ^= v >> 33
		if best == "" || v > bestH {
			best, bestH = id, v
		}
	}
	return best
}

// Spread is where in an address range this replica starts looking for
// free addresses, from 0 to 1: replicas sharing a range then rarely try
// the same address at once.
func (db *DB) Spread() float64 {
	h := fnv.New64a()
	h.Write([]byte(db.cfg.ID))
	return float64(h.Sum64()>>11) / (1 << 53)
}

// ID is this replica's name.
func (db *DB) ID() string { return db.cfg.ID }

// Replicas lists every replica seen in the last week, live ones first.
func (db *DB) Replicas() ([]state.Replica, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := db.pool.Query(ctx, `
		SELECT id, hostname, address, version, commit, started, heartbeat, clock_offset,
			stopped IS NULL AND heartbeat > clock_timestamp() - $1::interval
		FROM replicas WHERE heartbeat > clock_timestamp() - interval '7 days'
		ORDER BY 9 DESC, id`, db.cfg.DeadAfter.String())
	if err != nil {
		return nil, db.check(err)
	}
	defer rows.Close()
	var out []state.Replica
	for rows.Next() {
		var r state.Replica
		var off int64
		if err := rows.Scan(&r.ID, &r.Hostname, &r.Address, &r.Version, &r.Commit, &r.Started, &r.Heartbeat, &off, &r.Live); err != nil {
			return nil, err
		}
		r.ClockOffset, r.Self = time.Duration(off), r.ID == db.cfg.ID
		if p := db.live.Load(); p != nil {
			r.Sharing = contains(*p, r.ID)
		}
		out = append(out, r)
	}
	return out, db.check(rows.Err())
}
