// Command gobaseline is the smallest lock-step TFTP read server Go can
// be: RRQ with blksize only, files read whole into memory, one goroutine
// and one net.UDPConn per transfer, no pin/tftp, no logging, no limits.
// The TFTP benchmark runs it beside bootwright to tell the cost of Go's
// runtime (the netpoller's wake-up on every ACK) from pin/tftp's.
//
// With -blocking, each transfer instead owns a blocking socket on an OS
// thread of its own (sendto, then recvfrom that sleeps in the kernel until
// the ACK, as tftpd-hpa does), which is what Go needs to keep up with the
// C servers in lock-step; pin/tftp opens its per-transfer sockets itself
// with net.ListenUDP, so bootwright cannot do this without replacing it.
//
//	gobaseline [-blocking] 127.0.0.1:6971 /srv/tftp
//
// It is a measuring stick, not a server: no path checks beyond
// filepath.Base, no tsize, no error packets.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

func main() {
	blocking := flag.Bool("blocking", false, "a blocking socket on a locked OS thread per transfer")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: gobaseline [-blocking] ADDR DIR")
		os.Exit(2)
	}
	a, err := net.ResolveUDPAddr("udp", flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	l, err := net.ListenUDP("udp", a)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		buf := make([]byte, 1024)
		n, peer, err := l.ReadFromUDP(buf)
		if err != nil {
			continue
		}
		go serve(a.IP, peer, buf[:n], flag.Arg(1), *blocking)
	}
}

// serve sends the file an RRQ asks for.
func serve(local net.IP, peer *net.UDPAddr, req []byte, dir string, useBlocking bool) {
	if len(req) < 4 || binary.BigEndian.Uint16(req) != 1 {
		return
	}
	f := bytes.Split(req[2:], []byte{0})
	if len(f) < 2 {
		return
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.Base(string(f[0]))))
	if err != nil {
		return
	}
	blk, opt := 512, false
	for i := 2; i+1 < len(f); i += 2 {
		if string(f[i]) == "blksize" {
			if b, err := strconv.Atoi(string(f[i+1])); err == nil && b >= 512 && b <= 65464 {
				blk, opt = b, true
			}
		}
	}
	var t sender
	if useBlocking {
		t, err = newBlocking(local, peer)
	} else {
		t, err = newPolled(local, peer)
	}
	if err != nil {
		return
	}
	defer t.close()
	if opt {
		p := append(binary.BigEndian.AppendUint16(nil, 6), "blksize\x00"+strconv.Itoa(blk)+"\x00"...)
		if !t.send(p, 0) {
			return
		}
	}
	pkt := make([]byte, blk+4)
	block := uint16(1)
	for off := 0; ; off += blk {
		binary.BigEndian.PutUint16(pkt, 3)
		binary.BigEndian.PutUint16(pkt[2:], block)
		k := copy(pkt[4:], data[min(off, len(data)):min(off+blk, len(data))])
		if !t.send(pkt[:4+k], block) || k < blk {
			return
		}
		block++
	}
}

// sender sends a packet and waits for its ACK.
type sender interface {
	send(p []byte, block uint16) bool
	close()
}

// tries is how often a block is sent, one second apart, before giving up.
const tries = 5

// isACK says whether b is the ACK of block.
func isACK(b []byte, block uint16) bool {
	return len(b) >= 4 && binary.BigEndian.Uint16(b) == 4 && binary.BigEndian.Uint16(b[2:]) == block
}

// polled is a transfer on a net.UDPConn: Go's netpoller wakes it for
// each ACK.
type polled struct {
	c    *net.UDPConn
	peer *net.UDPAddr
	rb   []byte
}

func newPolled(local net.IP, peer *net.UDPAddr) (sender, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: local})
	return polled{c: c, peer: peer, rb: make([]byte, 516)}, err
}

func (t polled) close() { t.c.Close() }

func (t polled) send(p []byte, block uint16) bool {
	for range tries {
		t.c.SetReadDeadline(time.Now().Add(time.Second))
		t.c.WriteToUDP(p, t.peer)
		for {
			n, _, err := t.c.ReadFromUDP(t.rb)
			if err != nil {
				break
			}
			if isACK(t.rb[:n], block) {
				return true
			}
		}
	}
	return false
}

// blocking is a transfer on a blocking socket that its goroutine, locked
// to an OS thread, waits on in the kernel.
type blocking struct {
	fd   int
	peer *syscall.SockaddrInet4
	rb   []byte
}

func newBlocking(local net.IP, peer *net.UDPAddr) (sender, error) {
	runtime.LockOSThread() // the serving goroutine ends with the transfer
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	la := &syscall.SockaddrInet4{}
	copy(la.Addr[:], local.To4())
	tv := syscall.Timeval{Sec: 1}
	if err := errors.Join(syscall.Bind(fd, la),
		syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	pa := &syscall.SockaddrInet4{Port: peer.Port}
	copy(pa.Addr[:], peer.IP.To4())
	return blocking{fd: fd, peer: pa, rb: make([]byte, 516)}, nil
}

func (t blocking) close() { syscall.Close(t.fd) }

func (t blocking) send(p []byte, block uint16) bool {
	for range tries {
		syscall.Sendto(t.fd, p, 0, t.peer)
		for {
			n, _, err := syscall.Recvfrom(t.fd, t.rb, 0)
			if err != nil {
				break // EAGAIN: SO_RCVTIMEO passed
			}
			if isACK(t.rb[:n], block) {
				return true
			}
		}
	}
	return false
}
