package pgstore

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bootwright/bootwright/internal/lease"
	"github.com/bootwright/bootwright/internal/state"
)

// Config says where the database is and who this replica is.
type Config struct {
	// URL is a postgres:// URL or a libpq key=value string. Required.
	URL string
	// ID names this replica among the others: stable across restarts
	// (its share of DHCP clients follows it). Required.
	ID       string
	Hostname string // shown in the replica list; empty: os.Hostname
	Address  string // the address clients reach it at
	Version  string // bootwright's version
	// Commit returns the config commit in service, for the heartbeat;
	// nil: none.
	Commit func() string
	// DHCP says this replica serves full-mode DHCP and takes a share of
	// the clients.
	DHCP bool
	// Heartbeat is how often the replica says it is alive and reads the
	// others; zero means DefaultHeartbeat. DeadAfter is how old another
	// replica's heartbeat may be before its clients are taken over; zero
	// means DefaultDeadAfter.
	Heartbeat, DeadAfter time.Duration
	Logger               *slog.Logger // nil discards logs
	// Tool opens the database for a command (bootwright state migrate)
	// rather than a replica: no replica row, no heartbeat, the host's
	// clock.
	Tool bool
}

// Defaults of Config.Heartbeat and Config.DeadAfter: a killed replica's
// clients are answered by the others within DeadAfter + Heartbeat (4 s)
// of its last heartbeat.
const (
	DefaultHeartbeat = time.Second
	DefaultDeadAfter = 3 * time.Second
)

// DB is an open connection pool to the shared database, with this
// replica registered and its heartbeat running. Close it when done.
type DB struct {
	cfg  Config
	pool *pgxpool.Pool
	log  *slog.Logger

	instance string       // this process, to tell a restarted replica from a live one with its ID
	offset   atomic.Int64 // database clock minus ours, in ns, at the last heartbeat
	down     atomic.Pointer[error]
	lastOK   atomic.Int64             // unix ns of the last heartbeat that succeeded
	live     atomic.Pointer[[]string] // IDs of live DHCP replicas, sorted
	warned   time.Time                // last clock warning (heartbeat goroutine only)

	stop     chan struct{}
	done     chan struct{}
	closeMu  sync.Mutex
	closed   bool
	onChange []func() // called by the heartbeat when the database comes back
}

// Open connects to the database, migrates its schema and registers the
// replica. Its error is one line naming what is wrong with the URL, the
// credentials, the server or the schema, never the password.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.ID == "" && !cfg.Tool {
		return nil, errors.New("state database: a replica needs an ID")
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.DeadAfter <= 0 {
		cfg.DeadAfter = DefaultDeadAfter
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	where := Redact(cfg.URL)
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, failed(cfg.URL, where, "cannot parse it: "+parseReason(err), nil)
	}
	pc.MaxConns = 8
	pc.ConnConfig.ConnectTimeout = 5 * time.Second
	pc.ConnConfig.RuntimeParams["application_name"] = "bootwright " + cfg.ID
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, failed(cfg.URL, where, reason(err), err)
	}
	db := &DB{cfg: cfg, pool: pool, log: log, instance: randomHex(8), stop: make(chan struct{}), done: make(chan struct{})}
	if err := db.start(ctx); err != nil {
		pool.Close()
		return nil, failed(cfg.URL, where, reason(err), err)
	}
	if cfg.Tool {
		close(db.done)
	} else {
		db.lastOK.Store(time.Now().UnixNano()) // start registered this replica
		go db.heartbeats()
	}
	return db, nil
}

// Check parses u as Open would, without connecting: for flags checked
// before anything starts. Its error is one line without the password.
func Check(u string) error {
	if _, err := pgxpool.ParseConfig(u); err != nil {
		return failed(u, Redact(u), "cannot parse it: "+parseReason(err), nil)
	}
	return nil
}

// start checks the connection, migrates and registers.
func (db *DB) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := db.pool.Ping(ctx); err != nil {
		return err
	}
	if err := migrate(ctx, db.pool); err != nil {
		return err
	}
	if db.cfg.Tool {
		return nil
	}
	if err := db.register(ctx); err != nil {
		return err
	}
	return db.beat(ctx)
}

// Redact returns u without its password (and without password or
// sslpassword parameters), for messages.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
		return "(the --state-db value)"
	}
	if p.User != nil {
		p.User = url.User(p.User.Username())
	}
	q := p.Query()
	for _, k := range []string{"password", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	p.RawQuery = q.Encode()
	return p.String()
}

// passwords finds what may be a password in a URL or key=value string.
var passwords = regexp.MustCompile(`(?:://[^:/@\s]*:([^@\s]+)@|password\s*=\s*'?([^'\s&]+)|sslpassword=([^&\s]+))`)

// scrub removes from msg anything of u that may be a password.
func scrub(u, msg string) string {
	for _, m := range passwords.FindAllStringSubmatch(u, -1) {
		for _, pw := range m[1:] {
			if pw != "" {
				msg = strings.ReplaceAll(msg, pw, "xxxxx")
				if dec, err := url.PathUnescape(pw); err == nil && dec != pw && dec != "" {
					msg = strings.ReplaceAll(msg, dec, "xxxxx")
				}
			}
		}
	}
	return msg
}

// parseReason is why a URL did not parse, without the URL.
func parseReason(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "`: "); i >= 0 {
		msg = msg[i+3:]
	}
	return msg
}

// reason says in a few words why connecting or starting failed.
func reason(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000":
			return "authentication failed (wrong user or password): " + pe.Message
		case "3D000":
			return "no such database: " + pe.Message
		case "42501":
			return "permission denied: " + pe.Message
		}
		return pe.Message + " (SQLSTATE " + pe.Code + ")"
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return "cannot reach the server: " + innermost(err)
	}
	return err.Error()
}

// innermost is the deepest error's message: "connection refused" rather
// than pgx's account of every attempt.
func innermost(err error) string {
	for {
		u := firstUnwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// firstUnwrap is errors.Unwrap that also follows the first of a joined
// error's errors.
func firstUnwrap(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if es := j.Unwrap(); len(es) > 0 {
			return es[0]
		}
		return nil
	}
	return errors.Unwrap(err)
}

// openError is Open's error: one line for people, the cause for errors.Is.
type openError struct {
	msg string
	err error
}

func (e *openError) Error() string { return e.msg }
func (e *openError) Unwrap() error { return e.err }

// failed is Open's error for err, naming the database at where.
func failed(u, where string, why string, err error) error {
	msg := "state database " + where + ": " + scrub(u, why)
	return &openError{strings.Join(strings.Fields(msg), " "), err}
}

// unavailable is an error that means the database cannot be reached: it
// is both state.ErrUnavailable and lease.ErrUnavailable.
type unavailable struct{ err error }

func (e unavailable) Error() string { return "state database unavailable: " + e.err.Error() }
func (e unavailable) Unwrap() error { return e.err }
func (e unavailable) Is(target error) bool {
	return target == state.ErrUnavailable || target == lease.ErrUnavailable
}

// isConnErr reports whether err means the database (not the query) is at
// fault: the connection failed, the server shut down or refused us.
func isConnErr(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") || pe.Code == "53300"
	}
	var ne net.Error
	return pgconn.SafeToRetry(err) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "EOF")
}

// check turns a failed operation's error into what callers see: a
// connection failure marks the database down and wraps ErrUnavailable.
func (db *DB) check(err error) error {
	if err == nil || !isConnErr(err) {
		return err
	}
	db.setDown(err)
	return unavailable{err}
}

// Down returns why the database cannot be reached, or nil.
func (db *DB) Down() error {
	if p := db.down.Load(); p != nil {
		return *p
	}
	return nil
}

// setDown marks the database down (err) or up (nil). A timeout alone is
// not an outage while the last heartbeat is younger than DeadAfter: on a
// loaded host or database one slow query would otherwise refuse every new
// lease until the next heartbeat. The operation that timed out still
// fails.
func (db *DB) setDown(err error) {
	if err != nil && errors.Is(err, context.DeadlineExceeded) &&
		time.Since(time.Unix(0, db.lastOK.Load())) < db.cfg.DeadAfter {
		db.log.Warn("state database: slow", "err", err)
		return
	}
	if err == nil {
		db.lastOK.Store(time.Now().UnixNano())
		if db.down.Swap(nil) != nil {
			db.log.Info("state database: reachable again; queued events are being written")
		}
		return
	}
	e := error(unavailable{err})
	if db.down.Swap(&e) == nil {
		db.log.Error("state database: unreachable; boots go on, new leases are refused and events are queued", "err", err)
	}
}

// Pool returns the connection pool.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Close stops the heartbeat, marks the replica stopped (its clients go to
// the others at once) and closes the pool. A second Close does nothing.
func (db *DB) Close() error {
	db.closeMu.Lock()
	defer db.closeMu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	close(db.stop)
	<-db.done
	if db.cfg.Tool {
		db.pool.Close()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	db.pool.Exec(ctx, `UPDATE replicas SET stopped = clock_timestamp() WHERE id = $1 AND instance = $2`, db.cfg.ID, db.instance)
	db.pool.Close()
	return nil
}
