package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Phases of one boot, in order.
const (
	phDHCP   = iota // firmware PXE's DORA
	phTFTP          // the NBP over TFTP
	phDHCP2         // iPXE's DORA
	phScript        // /boot.ipxe and the per-MAC menu
	phKernel        // the kernel over HTTP
	phInitrd        // the initrds over HTTP
	nPhases
)

var phaseNames = [nPhases]string{"dhcp", "tftp", "dhcp-ipxe", "scripts", "kernel", "initrd"}

// result is what one simulated machine did.
type result struct {
	mac         net.HardwareAddr
	addr        net.IP
	start, end  time.Time
	phase       [nPhases]time.Duration
	failedIn    string // phase name, "" when it booted
	err         error
	dhcpRetries int
	dhcpNAKs    int
	tftp        tftpTransfer
	scriptBytes int // /boot.ipxe
	menuBytes   int // the per-MAC menu
	kernelBytes int64
	initrdBytes int64
	connects    int           // TCP connections the HTTP part opened
	slowConnect time.Duration // its longest connect
}

// storm holds what all machines share.
type storm struct {
	mux        *dhcpMux
	tftpWindow int
	tftpBlk    int
	tftpWant   []byte
	expect     func(path string) []byte
	timeout    time.Duration // one machine's whole boot
	until      int           // the last phase to run (nPhases-1: all)
	rcvbuf     int           // SO_RCVBUF of HTTP connections; 0: the kernel's autotuning
}

// boot runs one machine from power-on to its initrd's last byte, as a
// UEFI x64 PXE client that loads snponly.efi and then iPXE would.
func (s *storm) boot(parent context.Context, mac net.HardwareAddr, guid []byte) (r result) {
	r.mac = mac
	r.start = time.Now()
	ctx, cancel := context.WithTimeout(parent, s.timeout)
	defer cancel()
	mark := r.start
	step := func(ph int) {
		now := time.Now()
		r.phase[ph] = now.Sub(mark)
		mark = now
	}
	fail := func(ph int, err error) result {
		r.end = time.Now()
		r.failedIn = phaseNames[ph]
		if errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil {
			err = fmt.Errorf("%w (machine's %v budget)", err, s.timeout)
		}
		r.err = err
		return r
	}

	// 1. Firmware PXE: DORA, then the NBP from siaddr over TFTP.
	l, err := s.mux.dora(ctx, mac, guid, false, &r.dhcpRetries, &r.dhcpNAKs)
	if err != nil {
		return fail(phDHCP, err)
	}
	r.addr = l.addr
	if strings.Contains(l.bootFile, "://") {
		return fail(phDHCP, fmt.Errorf("firmware PXE got boot file %q, want a TFTP path", l.bootFile))
	}
	step(phDHCP)
	err = tftpGet(ctx, tftpRequest{
		local: l.addr, server: &net.UDPAddr{IP: l.next, Port: 69}, file: l.bootFile,
		blksize: s.tftpBlk, window: s.tftpWindow, timeout: 3 * time.Second, retries: 6,
		want: s.tftpWant, stats: &r.tftp,
	})
	if err != nil {
		return fail(phTFTP, err)
	}
	step(phTFTP)
	if s.until == phTFTP {
		r.end = time.Now()
		return r
	}

	// 2. iPXE: DORA again (user class iPXE, option 175), then HTTP.
	l2, err := s.mux.dora(ctx, mac, guid, true, &r.dhcpRetries, &r.dhcpNAKs)
	if err != nil {
		return fail(phDHCP2, err)
	}
	if !l2.addr.Equal(l.addr) {
		return fail(phDHCP2, fmt.Errorf("iPXE got %s, firmware got %s", l2.addr, l.addr))
	}
	if !strings.HasPrefix(l2.bootFile, "http://") {
		return fail(phDHCP2, fmt.Errorf("iPXE got boot file %q, want an http:// URL", l2.bootFile))
	}
	step(phDHCP2)
	if s.until == phDHCP2 {
		r.end = time.Now()
		return r
	}

	h := newHTTPMachine(l.addr, s.expect, s.rcvbuf)
	defer func() {
		r.connects, r.slowConnect = int(h.connects.Load()), time.Duration(h.slowConnect.Load())
		h.close()
	}()
	vars := ipxeVars(mac)
	u := l2.bootFile
	var t bootTarget
	for hop := 0; ; hop++ {
		if hop == 4 {
			return fail(phScript, fmt.Errorf("more than %d chained scripts", hop))
		}
		b, err := h.small(ctx, u)
		if err != nil {
			return fail(phScript, err)
		}
		if hop == 0 {
			r.scriptBytes = len(b)
		} else {
			r.menuBytes = len(b)
		}
		if t, err = parseScript(b, vars); err != nil {
			return fail(phScript, fmt.Errorf("%s: %w", u, err))
		}
		if t.chain == "" {
			break
		}
		if u, err = resolve(u, t.chain); err != nil {
			return fail(phScript, err)
		}
	}
	step(phScript)
	if s.until == phScript {
		r.end = time.Now()
		return r
	}
	buf := make([]byte, 256<<10)
	ku, err := resolve(u, t.kernel)
	if err == nil {
		r.kernelBytes, err = h.large(ctx, ku, buf)
	}
	if err != nil {
		return fail(phKernel, err)
	}
	step(phKernel)
	for _, i := range t.initrds {
		iu, err := resolve(u, i)
		var n int64
		if err == nil {
			n, err = h.large(ctx, iu, buf)
		}
		r.initrdBytes += n
		if err != nil {
			return fail(phInitrd, err)
		}
	}
	step(phInitrd)
	r.end = time.Now()
	return r
}

// resolve makes ref absolute against base, as iPXE does for a relative
// URI in a script; only http:// is simulated.
func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	u := b.ResolveReference(r)
	if u.Scheme != "http" {
		return "", fmt.Errorf("%s: only http:// is simulated", u)
	}
	return u.String(), nil
}
