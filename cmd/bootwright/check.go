package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bootwright/bootwright/internal/answers"
	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/secrets"
	"github.com/bootwright/bootwright/menus"
)

// runCheck implements `bootwright check [flags] [DIR]`: load the config
// tree in DIR, render everything for every machine and arch, print each
// problem on one line and exit 1 if there is any.
func runCheck(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	assetsDir := fs.String("assets-dir", "", "assets directory, so asset entries are checked too")
	publicURL := fs.String("public-url", "http://bootwright.invalid:8080", "base URL to render with")
	strict := fs.Bool("strict", false, "treat warnings (such as a missing default entry) as problems")
	secretsDir := fs.String("secrets-dir", "", "secrets directory, to check that every secret templates use exists (default: placeholders)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bootwright check [flags] [CONFIG-DIR]")
		fs.PrintDefaults()
	}
	if err := parseCheckArgs(fs, args, getenv); err != nil {
		return usageError(stderr, "check", err)
	}
	dir := fs.Arg(0)
	if dir == "" {
		dir = getenv(envName("config-dir"))
	}
	b, err := bootconfig.Load(dir)
	if err != nil {
		fmt.Fprintln(stdout, err)
		return 1
	}
	opts := bootconfig.CheckOptions{Server: serverURLs(*publicURL, *secretsDir), FileCheck: checkFile}
	if *assetsDir != "" {
		dirs, err := menus.ScanAssets(os.DirFS(*assetsDir))
		if err != nil {
			return usageError(stderr, "check", fmt.Errorf("--assets-dir: %w", err))
		}
		opts.Assets = dirs
	}
	errs, warns := b.Check(opts)
	for _, p := range errs {
		fmt.Fprintln(stdout, p)
	}
	for _, p := range warns {
		fmt.Fprintln(stdout, "warning:", p)
	}
	if len(errs) > 0 || *strict && len(warns) > 0 {
		fmt.Fprintf(stdout, "%s: %s, %s\n", cmp.Or(dir, "embedded defaults"), count(len(errs), "problem"), count(len(warns), "warning"))
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%s, %s, %s; %s)\n", cmp.Or(dir, "embedded defaults"), count(len(b.Menus.Machines), "machine"),
		count(len(b.Menus.Groups), "group"), count(len(b.Menus.Menus), "menu"), count(len(warns), "warning"))
	return 0
}

// checkBundle runs the same check as `bootwright check` and returns its
// problems as one error, so serve refuses to start on a config that would
// fail machines.
// Templates read the secrets in secretsDir (empty: placeholders).
func checkBundle(b *bootconfig.Bundle, publicURL, assetsDir, secretsDir string) error {
	opts := bootconfig.CheckOptions{Server: serverURLs(publicURL, secretsDir), FileCheck: checkFile}
	if assetsDir != "" {
		if dirs, err := menus.ScanAssets(os.DirFS(assetsDir)); err == nil {
			opts.Assets = dirs
		}
	}
	errs, _ := b.Check(opts)
	if len(errs) == 0 {
		return nil
	}
	lines := make([]string, len(errs))
	for i, p := range errs {
		lines[i] = p.String()
	}
	return fmt.Errorf("config %s has %s:\n%s", cmp.Or(b.Dir, "(embedded defaults)"), count(len(errs), "problem"), strings.Join(lines, "\n"))
}

// parseCheckArgs applies BOOTWRIGHT_* variables, then args; one
// positional argument is allowed.
func parseCheckArgs(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := parseWithEnvAllowArgs(fs, args, getenv); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(1))
	}
	return nil
}

// serverURLs derives the URLs templates see from a public base URL, as
// the boot policy serve builds would, with the secrets in secretsDir, or
// placeholders when it is empty. The assets count as served over TFTP
// too, at the public URL's host, as serve does with an assets directory,
// so Check reports for Secure Boot machines only the files GRUB could
// not load from this server.
func serverURLs(public, secretsDir string) menus.Server {
	p := &boot.Policy{PublicURL: public, TFTPAssets: true, Secrets: secrets.Placeholder}
	if secretsDir != "" {
		p.Secrets = secrets.Dir{Path: secretsDir}.Get
	}
	return p.Server()
}

// checkFile validates a rendered per-machine file by its kind (kickstart,
// preseed, cloud-config, unattend XML, ...), one "line N: ..." string per
// problem.
func checkFile(name string, content []byte) []string {
	var out []string
	kind := answers.Kind(name, content)
	for _, p := range answers.Check(kind, content) {
		out = append(out, kind+" "+p.String())
	}
	return out
}

// count says "1 problem" or "3 problems".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
