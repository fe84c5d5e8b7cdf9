// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb
// in a temporary directory, the server on a Unix socket there (no TCP
// port), run as an unprivileged user when the tests run as root, stopped
// by its PID when the tests end. Each test gets a database of its own.
//
// Tests that need it skip with a message naming what is missing when no
// PostgreSQL binaries are found, unless BOOTWRIGHT_REQUIRE_PG=1 (set by
// `make test`), which turns the skip into a failure. BOOTWRIGHT_TEST_PG_URL
// points the tests at a server that is already running instead.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running PostgreSQL server.
type Cluster struct {
	Dir  string // data, socket and log, under one temporary directory
	base string // URL of the server, without a database
	pid  int    // the postmaster, 0 for a server we did not start
	log  string
	run  func(name string, args ...string) error // runs a PostgreSQL program as the cluster's user
	opts string
}

var (
	once    sync.Once
	cluster *Cluster
	onceErr error
	dbSeq   atomic.Int64
)

// Main runs a test binary's tests and stops the cluster, if one was
// started, when they are done. Call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	return code
}

// Get returns the cluster, starting it on first use, or skips t (fails
// it under BOOTWRIGHT_REQUIRE_PG=1) when PostgreSQL is not installed.
func Get(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() {
		if u := os.Getenv("BOOTWRIGHT_TEST_PG_URL"); u != "" {
			cluster = &Cluster{base: u}
			return
		}
		cluster, onceErr = Start()
	})
	if errors.Is(onceErr, ErrNotInstalled) && os.Getenv("BOOTWRIGHT_REQUIRE_PG") != "1" {
		t.Skipf("PostgreSQL tests skipped: %v (install Debian's postgresql, listed in scripts/deps/postgres.txt, "+
			"or set BOOTWRIGHT_TEST_PG_URL)", onceErr)
	}
	if onceErr != nil {
		t.Fatalf("PostgreSQL for tests: %v", onceErr)
	}
	return cluster
}

// NewDB creates an empty database for t and returns its URL.
func NewDB(t testing.TB) string {
	t.Helper()
	c := Get(t)
	name := fmt.Sprintf("bwtest_%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := c.exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	return c.URL(name)
}

// URL returns the URL of database db on the cluster.
func (c *Cluster) URL(db string) string {
	u, err := url.Parse(c.base)
	if err != nil {
		return c.base
	}
	u.Path = "/" + db
	return u.String()
}

// Exec runs sql in the cluster's postgres database.
func (c *Cluster) Exec(sql string) error { return c.exec(sql) }

func (c *Cluster) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// ErrNotInstalled says initdb or pg_ctl was not found.
var ErrNotInstalled = errors.New("no initdb and pg_ctl in PATH or /usr/lib/postgresql/*/bin")

// Bin returns the directory of PostgreSQL's server programs.
func Bin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Start starts a new cluster (see the package comment).
func Start() (*Cluster, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bwpg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, log: filepath.Join(dir, "log")}
	as, err := runAs(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	run := func(name string, args ...string) error {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Dir = dir
		if as != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: as}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	c.run = run
	data := filepath.Join(dir, "data")
	if err := run("initdb", "-D", data, "-U", "bootwright", "--auth=trust", "-N", "-E", "UTF8", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.opts = fmt.Sprintf("-k %s -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=200", dir)
	if err := c.Restart(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.base = "postgres:///postgres?host=" + url.QueryEscape(dir) + "&user=bootwright"
	return c, nil
}

// Restart starts the server of a cluster Halt stopped (Start uses it too).
func (c *Cluster) Restart() error {
	data := filepath.Join(c.Dir, "data")
	if err := c.run("pg_ctl", "-D", data, "-l", c.log, "-w", "-t", "60", "-o", c.opts, "start"); err != nil {
		log, _ := os.ReadFile(c.log)
		return fmt.Errorf("%w; log: %s", err, log)
	}
	pidFile, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err == nil {
		c.pid, err = strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	}
	if err != nil {
		return fmt.Errorf("postmaster.pid: %w", err)
	}
	return nil
}

// Halt stops the server by its PID and keeps its data, for Restart: a
// database outage.
func (c *Cluster) Halt() {
	if c.pid == 0 {
		return
	}
	if p, err := os.FindProcess(c.pid); err == nil {
		p.Signal(syscall.SIGINT)
		for range 200 {
			if p.Signal(syscall.Signal(0)) != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		p.Signal(syscall.SIGKILL)
	}
	c.pid = 0
}

// Password makes user a role that must log in with password (scram) and
// returns the cluster's URL for database db as that user, without the
// password.
func (c *Cluster) Password(user, password, db string) (string, error) {
	hba := filepath.Join(c.Dir, "data", "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(hba, append([]byte("local all "+user+" scram-sha-256\n"), old...), 0o600); err != nil {
		return "", err
	}
	if err := c.exec(fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", user, password)); err != nil {
		return "", err
	}
	if err := c.exec("SELECT pg_reload_conf()"); err != nil {
		return "", err
	}
	u, _ := url.Parse(c.URL(db))
	q := u.Query()
	q.Set("user", user)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// runAs returns the user to run PostgreSQL as when we are root (it refuses
// to run as root): postgres if it exists, else nobody; dir is handed to
// it. nil when we are not root.
func runAs(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("running as root, and no postgres or nobody user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// Stop stops the server by its PID (fast shutdown: SIGINT) and removes
// its directory.
func (c *Cluster) Stop() {
	if c.Dir == "" {
		return // a server we did not start
	}
	c.Halt()
	os.RemoveAll(c.Dir)
}
