// Command client is the boot-storm load generator of bench/storm: N
// simulated UEFI x64 machines, each doing what firmware PXE and then iPXE
// do, against whatever DHCP, TFTP and HTTP servers answer on its network:
//
//  1. DHCP DISCOVER/OFFER/REQUEST/ACK from its own MAC, with option 60
//     "PXEClient:Arch:00007:UNDI:003000", 93 = 7 and 97 (a GUID),
//     retransmitted after 4, 8, 16 and 32 s, and started over after a
//     random 0-2 s when the REQUEST gets a NAK (at most 8 times);
//  2. a TFTP read of the boot file from siaddr with blksize 1468, tsize 0
//     and windowsize 4 (RFC 7440; lock-step when the OACK leaves it out);
//  3. as iPXE, a second DORA with user class "iPXE" (77) and option 175,
//     whose boot file must be an http:// URL;
//  4. HTTP GETs of that script, of the script it chains to (the per-MAC
//     menu, with ${mac:hexhyp}, ${buildarch} and ${platform} expanded),
//     and of the kernel and initrds of the menu's default entry.
//
// All machines share one socket on port 68 bound to the interface (each
// sets the broadcast flag, and replies are told apart by xid). TFTP and
// HTTP go from the leased address, so the namespace must accept traffic
// for every address it may lease (bench/storm/run.sh puts a local route
// for the range on lo). Machines start spread over -ramp; each has
// -timeout for its whole boot, and the storm as a whole ends by -deadline.
// Downloads are compared byte for byte with the files in -tftp-file and
// -assets-dir (-verify=false to only count bytes).
//
// Each HTTP connection has a fixed receive buffer (-tcp-rcvbuf, 256 KiB,
// which the kernel doubles), as a firmware client's window is bounded.
// Left to autotuning, each of 1000 connections may grow to tcp_rmem's
// maximum (32 MiB here) while the client is busy; the host then hits
// tcp_mem, prunes and drops received segments, and the servers resend
// them after timeouts of 200 ms and more: a limit of this one-host
// setup, not of the servers.
//
// It prints a report and a last line for scripts:
//
//	RESULT n=100 ok=100 failed=0 wall=6.123 rate=16.33 p50=3.210 p99=5.900
//
// Run it only inside a network namespace of its own.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

func main() {
	var (
		ifname    = flag.String("i", "eth0", "interface the machines are on")
		n         = flag.Int("n", 100, "machines")
		ramp      = flag.Duration("ramp", time.Second, "machines start spread evenly over this")
		timeout   = flag.Duration("timeout", 120*time.Second, "one machine's whole boot; later counts as failed")
		deadline  = flag.Duration("deadline", 0, "the whole storm (default: ramp + timeout + 10s)")
		macBase   = flag.String("mac-base", "02:42:00:00:00:00", "machine i (1..n) gets this MAC plus i")
		blksize   = flag.Int("blksize", 1468, "TFTP blksize to ask for")
		window    = flag.Int("windowsize", 4, "TFTP windowsize to ask for (0: none)")
		tftpFile  = flag.String("tftp-file", "", "local copy of the NBP, to compare with what TFTP brings")
		assetsDir = flag.String("assets-dir", "", "local copy of the server's /assets/, to compare downloads with")
		verify    = flag.Bool("verify", true, "compare downloads with the local copies byte for byte")
		label     = flag.String("label", "", "name of the server stack, for the report")
		failShow  = flag.Int("show-failures", 5, "failures to print")
		rcvbuf    = flag.Int("tcp-rcvbuf", 256<<10, "SO_RCVBUF of each HTTP connection (the kernel doubles it); 0: autotuning up to tcp_rmem's maximum")
		until     = flag.String("until", "initrd", "stop each machine after this phase: tftp, dhcp-ipxe, scripts or initrd (to see one part of the storm alone)")
	)
	flag.Parse()
	if *deadline == 0 {
		*deadline = *ramp + *timeout + 10*time.Second
	}
	base, err := net.ParseMAC(*macBase)
	if err != nil || len(base) != 6 {
		fatal(fmt.Errorf("-mac-base %q: not a 6-byte MAC", *macBase))
	}
	if *n < 1 || *n > 1<<16 {
		fatal(fmt.Errorf("-n %d: want 1..65536", *n))
	}
	s := &storm{tftpWindow: *window, tftpBlk: *blksize, timeout: *timeout, expect: func(string) []byte { return nil }, until: -1, rcvbuf: *rcvbuf}
	for i, name := range phaseNames {
		if name == *until && i != phDHCP && i != phKernel {
			s.until = i
		}
	}
	if s.until < 0 {
		fatal(fmt.Errorf("-until %q: want tftp, dhcp-ipxe, scripts or initrd", *until))
	}
	if *verify && *tftpFile != "" {
		if s.tftpWant, err = os.ReadFile(*tftpFile); err != nil {
			fatal(err)
		}
	}
	if *verify && *assetsDir != "" {
		s.expect = assetLoader(*assetsDir)
	}
	if s.mux, err = newDHCPMux(*ifname); err != nil {
		fatal(err)
	}
	defer s.mux.Close()

	ctx, cancel := context.WithTimeout(context.Background(), *deadline)
	defer cancel()
	results := make([]result, *n)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range *n {
		mac := addMAC(base, i+1)
		guid := []byte{0, byte(i >> 8), byte(i), 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
		at := t0.Add(time.Duration(int64(*ramp) * int64(i) / int64(*n)))
		wg.Go(func() {
			time.Sleep(time.Until(at))
			results[i] = s.boot(ctx, mac, guid)
		})
	}
	wg.Wait()
	report(os.Stdout, *label, results, t0, *ramp, s.mux, *failShow)
}

// addMAC is base plus i, carried across the last three bytes.
func addMAC(base net.HardwareAddr, i int) net.HardwareAddr {
	m := append(net.HardwareAddr(nil), base...)
	v := int(m[3])<<16 | int(m[4])<<8 | int(m[5]) + i
	m[3], m[4], m[5] = byte(v>>16), byte(v>>8), byte(v)
	return m
}

// assetLoader returns the expected bytes of /assets/PATH from dir, read
// once per file; nil for anything else.
func assetLoader(dir string) func(string) []byte {
	var mu sync.Mutex
	files := map[string][]byte{}
	return func(p string) []byte {
		rel, ok := strings.CutPrefix(p, "/assets/")
		if !ok {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if b, ok := files[rel]; ok {
			return b
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			b = nil
		}
		files[rel] = b
		return b
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "storm client:", err)
	os.Exit(2)
}
