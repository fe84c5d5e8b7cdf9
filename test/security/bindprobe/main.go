// Command bindprobe checks, on the kernel it runs on, what an unprivileged
// bootwright can do with its DHCP sockets. test/security/privileges.sh runs
// it as /init's child in a QEMU VM booted with Debian 12's 6.1 kernel (the
// host running the tests may have another kernel). Started as root, it
// drops to uid and gid 65534 with no capabilities, then:
//
//   - sets SO_BINDTODEVICE on a new UDP socket (needs CAP_NET_RAW before
//     Linux 5.7), and again on the same socket (changing it always does);
//   - runs dhcpboot.Server's own ListenAndServe (SO_BINDTODEVICE to lo) on
//     unprivileged ports, and on port 67, whose error it prints.
//
// It prints one line of results, prefixed "BINDPROBE".
package main

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bootwright/bootwright/dhcpboot"
)

func main() {
	var out []string
	add := func(k, v string) { out = append(out, k+"="+v) }
	var u unix.Utsname
	unix.Uname(&u)
	add("kernel", unix.ByteSliceToString(u.Release[:]))
	if os.Getuid() == 0 {
		// Go applies these to every thread (Go 1.16+); leaving uid 0
		// without PR_SET_KEEPCAPS clears every capability.
		if err := firstErr(syscall.Setgroups(nil), syscall.Setgid(65534), syscall.Setuid(65534)); err != nil {
			fmt.Println("BINDPROBE drop privileges:", err)
			os.Exit(1)
		}
	}
	add("uid", fmt.Sprint(os.Getuid()))
	add("capeff", capEff())

	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		fmt.Println("BINDPROBE socket:", err)
		os.Exit(1)
	}
	add("bindtodevice", result(unix.BindToDevice(fd, "lo")))
	add("rebind_device", result(unix.BindToDevice(fd, "lo")))
	unix.Close(fd)

	add("dhcp_unprivileged_port", result(serveBriefly("127.0.0.1:6767", "127.0.0.1:6768")))
	add("dhcp_port_67", fmt.Sprintf("%q", result(serveBriefly(":67", "127.0.0.1:6769"))))
	fmt.Println("BINDPROBE " + strings.Join(out, " "))
}

// serveBriefly runs a proxy-mode DHCP server on lo for half a second: nil
// if it served, else the error ListenAndServe returned.
func serveBriefly(addr, pxeAddr string) error {
	s := &dhcpboot.Server{Mode: dhcpboot.ModeProxy, Address: netip.MustParseAddr("127.0.0.1"),
		Interface: "lo", Addr: addr, BootServerAddr: pxeAddr}
	errc := make(chan error, 1)
	go func() { errc <- s.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-time.After(500 * time.Millisecond):
	}
	s.Shutdown(context.Background())
	return nil
}

func result(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func capEff() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
