// Command stall opens N TFTP read transfers and never acknowledges a
// block, so that each stays active on the server until its timeout; the
// TFTP benchmark measures the server's memory while they are held.
//
//	stall -addr 127.0.0.1:69 -file 1mib.bin -n 200 -hold 3s
//
// It prints how many transfers got their first DATA (or OACK) packet.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:69", "TFTP server")
	file := flag.String("file", "1mib.bin", "file to request")
	n := flag.Int("n", 200, "transfers to open")
	blksize := flag.String("blksize", "1468", "blksize option (empty: none)")
	hold := flag.Duration("hold", 3*time.Second, "how long to hold them")
	flag.Parse()
	to, err := net.ResolveUDPAddr("udp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stall:", err)
		os.Exit(2)
	}
	rrq := binary.BigEndian.AppendUint16(nil, 1)
	opts := []string{*file, "octet"}
	if *blksize != "" {
		opts = append(opts, "blksize", *blksize)
	}
	for _, s := range opts {
		rrq = append(append(rrq, s...), 0)
	}
	conns := make([]*net.UDPConn, 0, *n)
	for range *n {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: to.IP})
		if err != nil {
			fmt.Fprintln(os.Stderr, "stall:", err)
			os.Exit(1)
		}
		conns = append(conns, c)
		c.WriteToUDP(rrq, to)
	}
	started := 0
	buf := make([]byte, 65536)
	deadline := time.Now().Add(2 * time.Second)
	for _, c := range conns {
		c.SetReadDeadline(deadline)
		if k, _, err := c.ReadFromUDP(buf); err == nil && k >= 4 {
			if op := binary.BigEndian.Uint16(buf); op == 3 || op == 6 {
				started++
			}
		}
	}
	fmt.Println(started)
	time.Sleep(*hold)
}
