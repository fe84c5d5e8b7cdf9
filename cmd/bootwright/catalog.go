package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/catalog"
	"github.com/bootwright/bootwright/internal/hw"
)

// catalogFlags are the flags of `bootwright catalog [check]`.
type catalogFlags struct {
	publicURL, arch, mac string
	timeout              time.Duration
	concurrency          int
	verbose              bool
}

// runCatalog implements `bootwright catalog [check] [flags] [DIR]`: list
// the URLs the menus boot machines from, or (check) ask each upstream
// whether it is still there; exit 1 when an entry fails to resolve or a
// URL is dead or has moved.
func runCatalog(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	check := len(args) > 0 && args[0] == "check"
	if check {
		args = args[1:]
	}
	name := "catalog" + map[bool]string{true: " check"}[check]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f catalogFlags
	fs.StringVar(&f.publicURL, "public-url", "http://bootwright.invalid:8080", "base URL to resolve with (URLs under it are this server's own and are not checked)")
	fs.StringVar(&f.arch, "arch", "", "only what machines of this arch family get ("+hw.FamilyNames()+")")
	fs.StringVar(&f.mac, "mac", "", "what this machine gets (default: an unknown machine)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "check: time each URL may take")
	fs.IntVar(&f.concurrency, "concurrency", 8, "check: URLs asked at once")
	fs.BoolVar(&f.verbose, "v", false, "check: print every URL, not only the dead and moved ones")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bootwright catalog [check] [flags] [CONFIG-DIR]")
		fs.PrintDefaults()
	}
	if err := parseCheckArgs(fs, args, getenv); err != nil {
		return usageError(stderr, name, err)
	}
	items, code := catalogItems(fs.Arg(0), f, getenv, stdout, stderr)
	if items == nil {
		return code
	}
	if !check {
		printCatalog(stdout, items)
		return code
	}
	return max(code, printCheck(stdout, items, catalog.Checker{Timeout: f.timeout, Concurrency: f.concurrency}.Check(ctx, items), f.verbose))
}

// catalogItems loads the config and lists its URLs; nil and an exit code
// when it cannot. Entries that fail to resolve are printed, and make the
// code 1.
func catalogItems(dir string, f catalogFlags, getenv func(string) string, stdout, stderr io.Writer) ([]catalog.Item, int) {
	dir = cmp.Or(dir, getenv(envName("config-dir")))
	var mac hw.MAC
	if f.mac != "" {
		var err error
		if mac, err = hw.ParseMAC(f.mac); err != nil {
			return nil, usageError(stderr, "catalog", fmt.Errorf("--mac: %w", err))
		}
	}
	var only hw.Arch
	if f.arch != "" {
		var err error
		if only, err = hw.ParseFamily(f.arch); err != nil {
			return nil, usageError(stderr, "catalog", fmt.Errorf("--arch: %w", err))
		}
	}
	b, err := bootconfig.Load(dir)
	if err != nil {
		fmt.Fprintln(stdout, err)
		return nil, 1
	}
	items, errs := catalog.List(b.Menus, serverURLs(f.publicURL, ""), mac)
	code := 0
	for _, err := range errs {
		fmt.Fprintln(stdout, "error:", err)
		code = 1
	}
	if f.arch != "" {
		items = slices.DeleteFunc(items, func(it catalog.Item) bool { return !slices.Contains(it.Arches, only) })
	}
	return slices.Clip(append([]catalog.Item{}, items...)), code
}

// printCatalog prints the items grouped by entry, in menu order.
func printCatalog(w io.Writer, items []catalog.Item) {
	var order []string
	byEntry := map[string][]catalog.Item{}
	for _, it := range items {
		if _, ok := byEntry[it.Entry]; !ok {
			order = append(order, it.Entry)
		}
		byEntry[it.Entry] = append(byEntry[it.Entry], it)
	}
	for _, e := range order {
		fmt.Fprintf(w, "%s  %s\n", e, byEntry[e][0].Title)
		for _, it := range byEntry[e] {
			local := ""
			if it.Local {
				local = "  (this server)"
			}
			fmt.Fprintf(w, "  %-6s  %-24s  %s%s\n", it.Role, catalog.ArchNames(it.Arches), it.URL, local)
		}
	}
}

// printCheck prints the dead and moved URLs (every URL with verbose),
// each with the entries that use it, and a summary; it returns 1 when
// any is dead or moved.
func printCheck(w io.Writer, items []catalog.Item, results []catalog.Result, verbose bool) int {
	users := map[string][]string{}
	for _, it := range items {
		users[it.URL] = append(users[it.URL], it.Entry+" "+it.Role)
	}
	n := map[string]int{}
	for _, r := range results {
		n[r.Verdict]++
		if r.Verdict == catalog.OK && !verbose {
			continue
		}
		detail := r.Detail
		if r.Verdict == catalog.Moved {
			detail = "now at " + detail
		}
		fmt.Fprintf(w, "%-5s  %s  %s  [%s]\n", strings.ToUpper(r.Verdict), r.URL, detail, strings.Join(slices.Compact(users[r.URL]), ", "))
	}
	fmt.Fprintf(w, "catalog check: %d URLs, %d ok, %d dead, %d moved\n", len(results), n[catalog.OK], n[catalog.Dead], n[catalog.Moved])
	if n[catalog.Dead]+n[catalog.Moved] > 0 {
		return 1
	}
	return 0
}
