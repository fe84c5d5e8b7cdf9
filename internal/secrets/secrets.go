// Package secrets reads named secrets (password hashes, product keys,
// tokens) for templates from a directory kept apart from the config tree,
// so they never land in the git repository that holds the menus.
//
// A secret is a file: <dir>/<machine>/<name> for one machine, else
// <dir>/<name> for all. Its content, without the trailing newline, is the
// value. Files are read through an os.Root: a name cannot leave the
// directory.
package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
)

// maxSize bounds a secret file.
const maxSize = 64 << 10

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ErrNotFound is returned for a secret that has no file.
var ErrNotFound = errors.New("no such secret")

// Dir reads secrets from a directory.
type Dir struct{ Path string }

// Get returns secret name for machine.
func (d Dir) Get(machine, name string) (string, error) {
	if !namePattern.MatchString(name) {
		return "", fmt.Errorf("secret %q: names are letters, digits, '.', '_' or '-'", name)
	}
	root, err := os.OpenRoot(d.Path)
	if err != nil {
		return "", fmt.Errorf("secrets dir: %w", err)
	}
	defer root.Close()
	var paths []string
	if namePattern.MatchString(machine) {
		paths = append(paths, machine+"/"+name)
	}
	for _, p := range append(paths, name) {
		v, err := read(root, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("secret %q: %w", name, err)
		}
		return v, nil
	}
	return "", fmt.Errorf("secret %q for machine %s: %w in %s", name, machine, ErrNotFound, d.Path)
}

func read(root *os.Root, p string) (string, error) {
	f, err := root.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxSize {
		return "", fmt.Errorf("%s is larger than %d bytes", p, maxSize)
	}
	return string(bytes.TrimRight(b, "\r\n")), nil
}

// Placeholder stands in for secrets where none are available (a CI check
// of a config repository): it returns "<secret NAME>", so templates still
// render and can be validated.
func Placeholder(_, name string) (string, error) {
	if !namePattern.MatchString(name) {
		return "", fmt.Errorf("secret %q: names are letters, digits, '.', '_' or '-'", name)
	}
	return "<secret " + name + ">", nil
}
