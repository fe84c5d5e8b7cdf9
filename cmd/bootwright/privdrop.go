package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// runAs is the user `serve --user` becomes once every port is bound, as
// dnsmasq and tftpd-hpa do: started as root, it binds 67, 69, 4011 and
// 80, then gives root up for good (real, effective and saved IDs, and
// with them every capability).
type runAs struct {
	name     string
	uid, gid int
	groups   []int
}

// lookupRunAs resolves --user (a name or a numeric uid). It returns nil
// when there is nothing to drop: no --user, or already running as it.
func lookupRunAs(name string) (*runAs, error) {
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		var uerr error
		if u, uerr = user.LookupId(name); uerr != nil {
			return nil, fmt.Errorf("--user %q: %w", name, err)
		}
	}
	r := &runAs{name: u.Username}
	if r.uid, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("--user %q: uid %q: %w", name, u.Uid, err)
	}
	if r.gid, err = strconv.Atoi(u.Gid); err != nil {
		return nil, fmt.Errorf("--user %q: gid %q: %w", name, u.Gid, err)
	}
	r.groups = []int{r.gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.Atoi(id); err == nil && !slices.Contains(r.groups, g) {
				r.groups = append(r.groups, g)
			}
		}
	}
	switch euid := os.Geteuid(); {
	case r.uid == 0:
		return nil, fmt.Errorf("--user %q is root: name an unprivileged user", name)
	case euid == r.uid:
		return nil, nil
	case euid != 0:
		return nil, fmt.Errorf("--user %q: only root can switch users (running as uid %d); start as root, or run as %s with CAP_NET_BIND_SERVICE instead", name, euid, r.name)
	}
	return r, nil
}

// drop hands stateDir (everything in it) to the user, switches to the
// user, makes sure root cannot be regained, and checks that the user can
// still read each directory in dirs (flag name to path). A directory the
// user cannot read stops start-up with the flag and path. A state dir it
// cannot take over or write is logged, and boots go on: the stores are
// already open, and only new files (cache, git checkout) would fail.
func (r *runAs) drop(stateDir string, dirs map[string]string, log *slog.Logger) error {
	if err := chownTree(stateDir, r.uid, r.gid); err != nil {
		log.Error("state directory not handed to --user; new files there will fail", "user", r.name, "err", err)
	}
	// Go applies these to every thread of the process.
	if err := syscall.Setgroups(r.groups); err != nil {
		return fmt.Errorf("--user %s: setgroups: %w", r.name, err)
	}
	if err := syscall.Setgid(r.gid); err != nil {
		return fmt.Errorf("--user %s: setgid %d: %w", r.name, r.gid, err)
	}
	if err := syscall.Setuid(r.uid); err != nil {
		return fmt.Errorf("--user %s: setuid %d: %w", r.name, r.uid, err)
	}
	if syscall.Setuid(0) == nil || os.Geteuid() != r.uid || os.Getegid() != r.gid {
		return fmt.Errorf("--user %s: root could be regained after setuid %d", r.name, r.uid)
	}
	for _, flag := range slices.Sorted(maps.Keys(dirs)) {
		if err := readable(dirs[flag]); err != nil {
			return fmt.Errorf("--user %s cannot read %s: %w", r.name, flag, err)
		}
	}
	if f, err := os.CreateTemp(stateDir, ".write-check-"); err != nil {
		log.Error("--user cannot write the state directory; new files there will fail", "user", r.name, "err", err)
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	return nil
}

// chownTree gives dir and everything under it to uid:gid. Symbolic links
// are changed themselves, never followed. A missing dir is no error: the
// state store then runs from a temporary directory, already open.
func chownTree(dir string, uid, gid int) error {
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// readable opens dir and reads one entry of it.
func readable(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.ReadDir(1); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}

// readDirs are the directories the server reads after start-up, by flag.
func (c *config) readDirs() map[string]string {
	dirs := map[string]string{}
	for flag, dir := range map[string]string{"--config-dir": c.bundle.Dir, "--assets-dir": c.assetsDir,
		"--tftp-root": c.tftpRoot, "--secrets-dir": c.secretsDir, "--tftp-loader-dir": c.tftp.loaders.Dir} {
		if dir != "" {
			dirs[flag] = dir
		}
	}
	return dirs
}
