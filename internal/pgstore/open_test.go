package pgstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/pgtest"
)

// TestOpenErrors: each way the URL can be wrong stops Open with one line
// that says what is wrong and never the password.
func TestOpenErrors(t *testing.T) {
	c := pgtest.Get(t)
	const secret = "s3cr3t-pw"
	withPW, err := c.Password("pwuser", secret, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	newer := pgtest.NewDB(t)
	open(t, newer, "first").Close()
	if err := execURL(newer, `INSERT INTO schema_migrations (version) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		url  string
		want string
	}{
		"not a URL":         {"postgres://user:" + secret + "@host:port/db", "cannot parse"},
		"unknown parameter": {"postgres://u:" + secret + "@localhost/db?sslmode=sometimes", "cannot parse"},
		"wrong password":    {withPW + "&password=not-" + secret, "authentication failed"},
		"no password":       {withPW, "authentication failed"},
		"unreachable host":  {"postgres://u:" + secret + "@127.0.0.1:1/db?connect_timeout=2", "cannot reach the server"},
		"no such database":  {c.URL("no_such_db"), "no such database"},
		"newer schema":      {newer, "newer than this bootwright knows"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			db, err := Open(ctx, Config{URL: tc.url, ID: "x"})
			if err == nil {
				db.Close()
				t.Fatal("opened")
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") || strings.Contains(msg, secret) {
				t.Errorf("error %q: want one line saying %q, without the password", msg, tc.want)
			}
			if name == "newer schema" && !errors.Is(err, ErrNewerSchema) {
				t.Errorf("error %v is not ErrNewerSchema", err)
			}
		})
	}
	if got := Redact("postgres://u:" + secret + "@h/db?password=" + secret); strings.Contains(got, secret) {
		t.Errorf("Redact kept the password: %s", got)
	}
}

func execURL(url, sql string) error {
	db, err := Open(context.Background(), Config{URL: url, ID: "exec"})
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.pool.Exec(context.Background(), sql)
	return err
}

// TestMigrateTogether starts four replicas on a new database at once:
// the schema is made once, under the lock, and all of them start.
func TestMigrateTogether(t *testing.T) {
	url := pgtest.NewDB(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := Open(context.Background(), Config{URL: url, ID: string(rune('a' + i))})
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	db := open(t, url, "check")
	var n, v int
	if err := db.pool.QueryRow(context.Background(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != SchemaVersion() || v != SchemaVersion() {
		t.Errorf("schema_migrations has %d rows up to %d, want %d", n, v, SchemaVersion())
	}
}
