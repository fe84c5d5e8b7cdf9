package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/bootwright/bootwright/internal/doctor"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/netutil"
)

// doctorFlags are the flags of `bootwright doctor`.
type doctorFlags struct {
	iface   string
	timeout time.Duration
	arch    string
	mac     string
	json    bool
}

func newDoctorFlagSet(out io.Writer) (*flag.FlagSet, *doctorFlags) {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(out)
	f := &doctorFlags{}
	fs.StringVar(&f.iface, "interface", "", "interface to act as a PXE client on (default: the default route's)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to collect offers and wait for each reply")
	fs.StringVar(&f.arch, "arch", "efi-x64", "firmware to play: "+hw.FamilyNames())
	fs.StringVar(&f.mac, "mac", "", "client MAC to send (default: the interface's); its menu is the one fetched")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprint(out, "usage: bootwright doctor [flags]\n\n"+
			"Acts as a PXE client on an interface (as root): lists every DHCP and proxyDHCP server that answers,\n"+
			"does what a PXE ROM would (DHCPREQUEST, port 4011, TFTP), asks as iPXE and fetches /boot.ipxe and\n"+
			"the menu, and names the PXE error a firmware would show, with the fix. Exit 0: a machine would boot;\n"+
			"1: it would not; 2: doctor could not run.\n\n")
		fs.PrintDefaults()
	}
	return fs, f
}

// buildDoctor validates the flags into a Doctor, before any socket opens.
func buildDoctor(f *doctorFlags, defaultIface func() (string, error)) (*doctor.Doctor, error) {
	d := &doctor.Doctor{Interface: f.iface, Wait: f.timeout}
	var err error
	if d.Arch, err = hw.ParseFamily(f.arch); err != nil {
		return nil, fmt.Errorf("--arch: %w", err)
	}
	if f.timeout <= 0 {
		return nil, fmt.Errorf("--timeout %s: must be positive", f.timeout)
	}
	if f.mac != "" {
		if d.MAC, err = net.ParseMAC(f.mac); err != nil || len(d.MAC) != 6 {
			return nil, fmt.Errorf("--mac %q: want an Ethernet MAC such as 52:54:00:12:34:56", f.mac)
		}
	}
	if d.Interface == "" {
		if d.Interface, err = defaultIface(); err != nil {
			return nil, fmt.Errorf("--interface: %w", err)
		}
	}
	return d, nil
}

// runDoctor implements `bootwright doctor`: 0 when a machine would boot,
// 1 when it would not, 2 when doctor cannot run.
func runDoctor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs, f := newDoctorFlagSet(stderr)
	if err := parseWithEnv(fs, args, getenv); err != nil {
		return usageError(stderr, "doctor", err)
	}
	d, err := buildDoctor(f, netutil.DefaultInterface)
	if err != nil {
		return usageError(stderr, "doctor", err)
	}
	d.Log = func(format string, a ...any) { fmt.Fprintf(stderr, "doctor: "+format+"\n", a...) }
	facts, err := d.Run(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "bootwright doctor:", err)
		return 2
	}
	r := doctor.NewReport(facts)
	if f.json {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "bootwright doctor:", err)
		return 2
	}
	if !r.OK {
		return 1
	}
	return 0
}
