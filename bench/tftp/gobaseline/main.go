// Command gobaseline is the smallest lock-step TFTP read server Go can
// be: RRQ with blksize only, files read whole into memory, one goroutine
// and one net.UDPConn per transfer, no pin/tftp, no logging, no limits.
// The TFTP benchmark runs it beside bootwright to tell the cost of Go's
// runtime (the netpoller's wake-up on every ACK) from pin/tftp's.
//
//	gobaseline 127.0.0.1:6971 /srv/tftp
//
// It is a measuring stick, not a server: no path checks beyond
// filepath.Base, no tsize, no error packets.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gobaseline ADDR DIR")
		os.Exit(2)
	}
	a, err := net.ResolveUDPAddr("udp", os.Args[1])
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
		go serve(a.IP, peer, buf[:n], os.Args[2])
	}
}

// serve sends the file an RRQ asks for.
func serve(local net.IP, peer *net.UDPAddr, req []byte, dir string) {
	f := bytes.Split(req[2:], []byte{0})
	if len(req) < 4 || binary.BigEndian.Uint16(req) != 1 || len(f) < 2 {
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
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: local})
	if err != nil {
		return
	}
	defer c.Close()
	t := transfer{c: c, peer: peer, rb: make([]byte, 516)}
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

type transfer struct {
	c    *net.UDPConn
	peer *net.UDPAddr
	rb   []byte
}

// send sends p until the ACK for block comes, 5 tries of 1s.
func (t transfer) send(p []byte, block uint16) bool {
	for range 5 {
		t.c.SetReadDeadline(time.Now().Add(time.Second))
		t.c.WriteToUDP(p, t.peer)
		for {
			n, _, err := t.c.ReadFromUDP(t.rb)
			if err != nil {
				break
			}
			if n >= 4 && binary.BigEndian.Uint16(t.rb) == 4 && binary.BigEndian.Uint16(t.rb[2:]) == block {
				return true
			}
		}
	}
	return false
}
