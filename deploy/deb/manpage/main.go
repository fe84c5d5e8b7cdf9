// Command manpage writes bootwright(1), the man page the .deb ships, from
// what a built bootwright binary says about itself: the command list of
// `bootwright --help`, then `bootwright COMMAND -h` for each command (its
// synopsis, text and flags, each flag with its BOOTWRIGHT_* variable) and
// `bootwright version`. A new command or flag reaches the page with no
// change here. make deb runs it (deploy/deb/build.sh):
//
//	manpage -bin bin/deb/bootwright -date 2026-12-07 >bootwright.1
//
// The binary runs with an empty environment, so the page does not depend
// on BOOTWRIGHT_* variables of the machine that builds it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/bootwright", "the bootwright binary to describe")
	date := flag.String("date", time.Now().UTC().Format(time.DateOnly), "the page's date, YYYY-MM-DD (make deb passes the commit's)")
	flag.Parse()
	if _, err := time.Parse(time.DateOnly, *date); err != nil {
		fmt.Fprintln(os.Stderr, "manpage: -date:", err)
		os.Exit(2)
	}
	out, err := build(binaryHelp(*bin), *date)
	if err != nil {
		fmt.Fprintln(os.Stderr, "manpage:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

// helpFunc returns what bootwright prints for args.
type helpFunc func(args ...string) (string, error)

// binaryHelp runs bin with args and an empty environment; help goes to
// stdout (bootwright --help) or stderr (flag's -h), so both are taken.
func binaryHelp(bin string) helpFunc {
	return func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, out.String())
		}
		return out.String(), nil
	}
}

// build asks help for the command list, each command's -h and the
// version, and renders the page. A command whose -h is not a usage text
// (version prints the version) gets its summary alone.
func build(help helpFunc, date string) ([]byte, error) {
	usage, err := help("--help")
	if err != nil {
		return nil, err
	}
	cmds, err := parseUsage(usage)
	if err != nil {
		return nil, err
	}
	for i := range cmds {
		c := &cmds[i]
		text, err := help(c.Name, "-h")
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(text, "usage: ") && !strings.HasPrefix(text, "Usage of ") {
			c.Synopsis = "bootwright " + c.Name
			continue
		}
		if err := parseCommandHelp(c, text); err != nil {
			return nil, err
		}
	}
	v, err := help("version")
	if err != nil {
		return nil, err
	}
	version, ok := strings.CutPrefix(strings.TrimSpace(v), "bootwright ")
	if !ok {
		return nil, fmt.Errorf("version: unexpected output %q", v)
	}
	return render(Page{Version: version, Date: date, Commands: cmds})
}
