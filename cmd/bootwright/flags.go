package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// serveFlags are the raw values of `bootwright serve` flags.
type serveFlags struct {
	iface, address, address6   string
	dhcp                       dhcpFlags
	dhcp6                      dhcp6Flags
	git                        gitFlags
	state                      stateFlags
	tftpAddr, tftpRoot, efiNBP string
	tftp                       tftpFlags
	httpAddr, publicURL        string
	http                       httpFlags
	https                      httpsFlags
	configDir, assetsDir       string
	stateDir, user             string
	logLevel, logFormat        string
}

// newServeFlagSet declares every serve flag. Each is also read from
// BOOTWRIGHT_<NAME> (upper case, '-' as '_'); an explicit flag wins.
func newServeFlagSet(out io.Writer) (*flag.FlagSet, *serveFlags) {
	f := &serveFlags{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.iface, "interface", "", "interface to serve on (default: the default route's interface)")
	fs.StringVar(&f.address, "address", "", "IPv4 address clients reach us at (default: the interface's first IPv4 address)")
	fs.StringVar(&f.address6, "address6", "", "IPv6 address clients over IPv6 reach us at (default: the interface's first IPv6 address that is not link-local)")
	f.dhcp.register(fs)
	f.dhcp6.register(fs)
	f.git.register(fs)
	f.state.register(fs)
	fs.StringVar(&f.tftpAddr, "tftp-addr", ":69", "TFTP listen address, or off")
	fs.StringVar(&f.tftpRoot, "tftp-root", "", "directory of extra TFTP files, layered over the embedded NBPs")
	f.tftp.register(fs)
	fs.StringVar(&f.efiNBP, "efi-nbp", "snponly.efi", "NBP for x86-64 UEFI firmware: snponly.efi or ipxe.efi")
	fs.StringVar(&f.httpAddr, "http-addr", ":8080", "HTTP listen address")
	f.http.register(fs)
	f.https.register(fs)
	fs.StringVar(&f.publicURL, "public-url", "", "base URL clients reach the HTTP server at (default: http://ADDRESS:HTTP-PORT); an https:// one goes to installers, and to iPXE only with --https-ipxe-trusted")
	fs.StringVar(&f.configDir, "config-dir", "", "config directory with menus/ and templates/ overriding the embedded defaults")
	fs.StringVar(&f.assetsDir, "assets-dir", "", "directory served at /assets/; each <name>/vmlinuz+initrd* folder becomes a menu entry")
	fs.StringVar(&f.stateDir, "state-dir", "/var/lib/bootwright", "directory for leases and machine state (created if missing)")
	fs.StringVar(&f.user, "user", "", "after binding its ports, run as this user (start as root; the state dir is handed to it)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	return fs, f
}

// envName is the environment variable that sets flag name.
func envName(name string) string {
	return "BOOTWRIGHT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// parseWithEnv applies BOOTWRIGHT_* variables from getenv, then args, and
// refuses positional arguments.
func parseWithEnv(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := parseWithEnvAllowArgs(fs, args, getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// parseWithEnvAllowArgs is parseWithEnv leaving positional arguments in fs.
func parseWithEnvAllowArgs(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && err == nil {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, serr)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}
