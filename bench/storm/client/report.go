package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"syscall"
	"time"
)

// report prints what the storm did: machines booted per second over the
// wall time (first start to last end), p50/p99 time per booted machine,
// the same per phase, retransmissions, what TFTP granted, response sizes
// and the first failures.
func report(w io.Writer, label string, rs []result, t0 time.Time, ramp time.Duration, mux *dhcpMux, show int) {
	var ok []result
	var failed []result
	last := t0
	for _, r := range rs {
		if r.end.After(last) {
			last = r.end
		}
		if r.err == nil {
			ok = append(ok, r)
		} else {
			failed = append(failed, r)
		}
	}
	wall := last.Sub(t0).Seconds()
	rate := float64(len(ok)) / wall
	total := make([]time.Duration, len(ok))
	for i, r := range ok {
		total[i] = r.end.Sub(r.start)
	}
	fmt.Fprintf(w, "storm %s: %d machines, ramp %v: %d booted, %d failed, in %.2fs: %.2f machines/s\n",
		label, len(rs), ramp, len(ok), len(failed), wall, rate)
	fmt.Fprintf(w, "  time per machine: p50 %s  p99 %s  max %s\n",
		secs(pct(total, 50)), secs(pct(total, 99)), secs(pct(total, 100)))
	var ph []string
	for p := range nPhases {
		if len(ok) > 0 && ok[0].phase[p] == 0 {
			continue // not run (-until)
		}
		d := make([]time.Duration, len(ok))
		for i, r := range ok {
			d[i] = r.phase[p]
		}
		ph = append(ph, fmt.Sprintf("%s %s/%s", phaseNames[p], secs(pct(d, 50)), secs(pct(d, 99))))
	}
	fmt.Fprintf(w, "  phases p50/p99: %s\n", strings.Join(ph, ", "))

	granted := map[string]int{}
	var dhcpRetx, dhcpNAKs, tftpTimeouts int
	for _, r := range rs {
		dhcpRetx += r.dhcpRetries
		dhcpNAKs += r.dhcpNAKs
		tftpTimeouts += r.tftp.timeouts
		if r.tftp.granted != "" {
			granted[r.tftp.granted]++
		}
	}
	var g []string
	for k, v := range granted {
		g = append(g, fmt.Sprintf("%q x%d", k, v))
	}
	sort.Strings(g)
	fmt.Fprintf(w, "  tftp granted: %s\n", strings.Join(g, ", "))
	fmt.Fprintf(w, "  retransmissions: dhcp %d, tftp client timeouts %d; DORAs started over after a NAK %d; dhcp replies no machine waited for %d, unparsable %d\n",
		dhcpRetx, tftpTimeouts, dhcpNAKs, mux.stray.Load(), mux.bad.Load())
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		fmt.Fprintf(w, "  client CPU: user %.1fs, system %.1fs\n", tv(ru.Utime), tv(ru.Stime))
	}
	var connects int
	var slowConnect time.Duration
	for _, r := range rs {
		connects += r.connects
		slowConnect = max(slowConnect, r.slowConnect)
	}
	fmt.Fprintf(w, "  tcp: %d connections, the slowest connect %s\n", connects, secs(slowConnect))
	if len(ok) > 0 {
		slow := ok[0]
		for _, r := range ok {
			if r.end.Sub(r.start) > slow.end.Sub(slow.start) {
				slow = r
			}
		}
		var ph []string
		for p := range nPhases {
			ph = append(ph, fmt.Sprintf("%s %s", phaseNames[p], secs(slow.phase[p])))
		}
		fmt.Fprintf(w, "  slowest machine %s (%s), started at +%s: %s\n", slow.mac, slow.addr, secs(slow.start.Sub(t0)), strings.Join(ph, ", "))
		r := ok[0]
		fmt.Fprintf(w, "  per machine: boot file %d B over TFTP, boot.ipxe %d B, menu %d B, kernel %d B, initrds %d B\n",
			r.tftp.bytes, r.scriptBytes, r.menuBytes, r.kernelBytes, r.initrdBytes)
	}
	if len(failed) > 0 {
		byPhase := map[string]int{}
		for _, r := range failed {
			byPhase[r.failedIn]++
		}
		fmt.Fprintf(w, "  failures by phase: %v\n", byPhase)
		sort.Slice(failed, func(i, j int) bool { return failed[i].end.Before(failed[j].end) })
		for i, r := range failed {
			if i == show {
				break
			}
			fmt.Fprintf(w, "  FAIL %s (%s) in %s after %s: %v\n", r.mac, r.addr, r.failedIn, secs(r.end.Sub(r.start)), r.err)
		}
	}
	fmt.Fprintf(w, "RESULT n=%d ok=%d failed=%d wall=%.3f rate=%.2f p50=%.3f p99=%.3f\n",
		len(rs), len(ok), len(failed), wall, rate, pct(total, 50).Seconds(), pct(total, 99).Seconds())
}

// pct is the p-th percentile (nearest rank) of d, 0 when d is empty.
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func secs(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0fms", d.Seconds()*1000)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
