// Command bootwright is a network-boot server: DHCP (proxy or full),
// TFTP for the iPXE NBPs, and HTTP for per-machine menus and kernels.
//
//	bootwright serve [flags]           run the server (flags also as BOOTWRIGHT_* env)
//	bootwright check [flags] [DIR]     check a config directory, as in CI
//	bootwright render [flags] PATH     print what the server serves for PATH
//	bootwright catalog [check] [DIR]   list the URLs menus boot from; check them upstream
//	bootwright machines list|reinstall talk to a running server's API
//	bootwright version                 print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/bootwright/bootwright/internal/netutil"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

const usage = `usage: bootwright <command> [flags]

commands:
  serve     run the DHCP, TFTP and HTTP servers (bootwright serve -h for flags)
  check     load a config directory and render everything; exit 1 on any problem
  render    print what the server would serve a machine for a path
  catalog   list the URLs the menus boot from (catalog check: ask each upstream)
  machines  list machines, or re-arm one for install, through a running server's API
  doctor    act as a PXE client on an interface and say why a machine would not boot
  version   print the version
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code. 0 is
// success, 1 a failure while serving, 2 a usage or configuration error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stderr)
	case "check":
		return runCheck(args[1:], getenv, stdout, stderr)
	case "render":
		return runRender(args[1:], getenv, stdout, stderr)
	case "catalog":
		return runCatalog(ctx, args[1:], getenv, stdout, stderr)
	case "machines":
		return runMachines(args[1:], getenv, stdout, stderr)
	case "doctor":
		return runDoctor(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "bootwright", versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "bootwright: unknown command %q\n%s", args[0], usage)
	return 2
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs, f := newServeFlagSet(stderr)
	if err := parseWithEnv(fs, args, getenv); err != nil {
		return usageError(stderr, "serve", err)
	}
	c, err := buildConfig(f, netLookup{netutil.DefaultInterface, netutil.InterfaceIPv4, netutil.InterfaceIPv6})
	if err != nil {
		fmt.Fprintln(stderr, "bootwright serve:", err)
		return 2
	}
	log := newLogger(stderr, c)
	if err := serve(ctx, c, log); err != nil {
		log.Error("bootwright stopped", "err", err)
		return 1
	}
	return 0
}

// usageError reports a flag or argument error of a subcommand and returns
// its exit code: 0 for -h, 2 otherwise.
func usageError(stderr io.Writer, cmd string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "bootwright %s: %v\n", cmd, err)
	return 2
}

func newLogger(w io.Writer, c *config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "devel-" + s.Value[:12]
			}
		}
		if bi.Main.Version != "" {
			return bi.Main.Version
		}
	}
	return "devel"
}
