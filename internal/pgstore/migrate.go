package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Advisory lock keys (one namespace per use; machines use their own, see
// machineLock).
const (
	lockMigrate int64 = 0x4257_0001 << 32
	lockPrune   int64 = 0x4257_0002 << 32
)

// ErrNewerSchema is returned by Open for a database migrated by a newer
// bootwright than this one.
var ErrNewerSchema = errors.New("database schema is newer than this bootwright knows")

// migrations are the schema, one step per version; a step is never
// changed once released, only added to.
var migrations = []string{
	// 1: machines, events, bindings, leases, replicas, meta.
	`CREATE TABLE meta (
		key   text PRIMARY KEY,
		value bytea NOT NULL
	);
	CREATE TABLE machines (
		mac            macaddr PRIMARY KEY,
		state          text NOT NULL,
		last_seen      timestamptz NOT NULL,
		last_ip        inet,
		revoked_before timestamptz,
		data           json NOT NULL
	);
	CREATE INDEX machines_last_seen ON machines (last_seen DESC, mac);
	CREATE INDEX machines_last_ip ON machines (last_ip);
	CREATE TABLE events (
		id      bigserial PRIMARY KEY,
		mac     macaddr NOT NULL,
		at      timestamptz NOT NULL,
		replica text NOT NULL,
		data    json NOT NULL
	);
	CREATE INDEX events_mac_at ON events (mac, at, id);
	CREATE INDEX events_at ON events (at);
	CREATE TABLE bindings (
		mac   macaddr PRIMARY KEY,
		addr  inet NOT NULL,
		since timestamptz NOT NULL,
		until timestamptz NOT NULL,
		data  json NOT NULL
	);
	CREATE INDEX bindings_addr ON bindings (addr);
	CREATE SEQUENCE lease_seq;
	CREATE TABLE leases (
		addr    inet PRIMARY KEY,
		mac     macaddr NOT NULL,
		expiry  timestamptz NOT NULL,
		state   smallint NOT NULL CHECK (state IN (1, 2, 3)),
		replica text NOT NULL,
		seq     bigint NOT NULL DEFAULT nextval('lease_seq')
	);
	CREATE INDEX leases_seq ON leases (seq);
	CREATE TABLE replicas (
		id           text PRIMARY KEY,
		instance     text NOT NULL,
		hostname     text NOT NULL,
		address      text NOT NULL,
		version      text NOT NULL,
		commit       text NOT NULL,
		dhcp         boolean NOT NULL,
		started      timestamptz NOT NULL,
		heartbeat    timestamptz NOT NULL,
		stopped      timestamptz,
		clock_offset bigint NOT NULL DEFAULT 0
	);`,
	// 2: a binding per MAC and address family (DHCPv4 and DHCPv6 bind
	// side by side), and each machine's last IPv6 address.
	`ALTER TABLE bindings ADD COLUMN family smallint NOT NULL DEFAULT 4 CHECK (family IN (4, 6));
	UPDATE bindings SET family = family(addr);
	ALTER TABLE bindings DROP CONSTRAINT bindings_pkey, ADD PRIMARY KEY (mac, family);
	ALTER TABLE machines ADD COLUMN last_ip6 inet;
	UPDATE machines SET last_ip6 = (data->>'last_ip6')::inet WHERE data->>'last_ip6' IS NOT NULL;
	CREATE INDEX machines_last_ip6 ON machines (last_ip6);`,
}

// SchemaVersion is the schema this bootwright migrates to.
func SchemaVersion() int { return len(migrations) }

// migrate brings the schema up to SchemaVersion under an advisory lock,
// each step in a transaction of its own, or refuses a newer schema.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockMigrate); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, lockMigrate)
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY,
		applied timestamptz NOT NULL DEFAULT now())`)
	if err != nil {
		return err
	}
	var have int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return err
	}
	if have > len(migrations) {
		return fmt.Errorf("%w: it is at version %d, this bootwright knows up to %d; upgrade bootwright", ErrNewerSchema, have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
			tx.Rollback(ctx)
			return fmt.Errorf("schema migration %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
			tx.Rollback(ctx)
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}
