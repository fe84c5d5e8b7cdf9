// Command dhcpflood is the bounded DHCP load generator of
// test/security/flood.sh: from one interface it broadcasts DHCPDISCOVERs,
// most from a fresh random MAC each, every Nth from one MAC that loops, at
// most -rate a second, until -count packets are sent or -duration is over,
// whichever comes first. With -pxe each DISCOVER says it comes from BIOS
// PXE firmware (options 60 and 93), so that bootwright records every
// made-up MAC as a discovered machine. It counts the replies it sees for each kind and
// prints the totals as one line of key=value pairs, with a progress line
// every 5 seconds.
//
//	dhcpflood -i eth0 -count 15000 -rate 500 -duration 30s -loop-every 5 -pxe
package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
)

// randomPrefix starts every random MAC: locally administered, unicast.
var randomPrefix = []byte{0x02, 0xf1}

type counts struct {
	sentRandom, sentLoop       atomic.Int64
	repliesRandom, repliesLoop atomic.Int64
}

func main() {
	ifname := flag.String("i", "eth0", "interface to send from")
	count := flag.Int("count", 15000, "packets to send at most")
	rate := flag.Int("rate", 500, "packets a second at most")
	duration := flag.Duration("duration", 30*time.Second, "how long to send at most")
	loopEvery := flag.Int("loop-every", 5, "every Nth packet comes from the looping MAC (0: none)")
	loopMAC := flag.String("loop-mac", "02:f0:00:00:00:01", "the looping client's MAC")
	pxe := flag.Bool("pxe", false, "send PXE firmware's DISCOVERs (options 60 and 93), not a plain client's")
	flag.Parse()
	if *count <= 0 || *rate <= 0 || *rate > 20000 || *duration <= 0 || *duration > 5*time.Minute {
		fmt.Fprintln(os.Stderr, "dhcpflood: want count > 0, 0 < rate <= 20000, 0 < duration <= 5m")
		os.Exit(2)
	}
	loop, err := net.ParseMAC(*loopMAC)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dhcpflood:", err)
		os.Exit(2)
	}
	var mods []dhcpv4.Modifier
	if *pxe {
		mods = pxeOptions
	}
	if err := run(*ifname, *count, *rate, *duration, *loopEvery, loop, mods); err != nil {
		fmt.Fprintln(os.Stderr, "dhcpflood:", err)
		os.Exit(1)
	}
}

// pxeOptions make a DISCOVER look like BIOS PXE firmware's: option 60
// PXEClient with arch 0, option 93 arch 0 (RFC 4578).
var pxeOptions = []dhcpv4.Modifier{
	dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
	dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.OptionClientSystemArchitectureType, []byte{0, 0})),
}

func run(ifname string, count, rate int, duration time.Duration, loopEvery int, loop net.HardwareAddr, mods []dhcpv4.Modifier) error {
	conn, err := server4.NewIPv4UDPConn(ifname, &net.UDPAddr{Port: dhcpv4.ClientPort})
	if err != nil {
		return err
	}
	defer conn.Close()
	var c counts
	done := make(chan struct{})
	go func() { defer close(done); receive(conn, loop, &c) }()

	dst := &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ServerPort}
	start := time.Now()
	const tick = 10 * time.Millisecond
	perTick := max(1, rate/int(time.Second/tick))
	t := time.NewTicker(tick)
	defer t.Stop()
	nextReport := start.Add(5 * time.Second)
	sent := 0
	for sent < count && time.Since(start) < duration {
		for i := 0; i < perTick && sent < count; i++ {
			mac, isLoop := loop, loopEvery > 0 && sent%loopEvery == loopEvery-1
			if !isLoop {
				mac = randomMAC()
			}
			d, err := dhcpv4.NewDiscovery(mac, append([]dhcpv4.Modifier{dhcpv4.WithBroadcast(true)}, mods...)...)
			if err != nil {
				return err
			}
			if _, err := conn.WriteTo(d.ToBytes(), dst); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("send: %w", err)
			}
			sent++
			if isLoop {
				c.sentLoop.Add(1)
			} else {
				c.sentRandom.Add(1)
			}
		}
		if now := time.Now(); now.After(nextReport) {
			fmt.Printf("dhcpflood: t=%.0fs sent=%d replies=%d\n", now.Sub(start).Seconds(), sent, c.repliesRandom.Load()+c.repliesLoop.Load())
			nextReport = nextReport.Add(5 * time.Second)
		}
		<-t.C
	}
	elapsed := time.Since(start)
	// Replies still on their way.
	time.Sleep(500 * time.Millisecond)
	conn.SetReadDeadline(time.Now())
	<-done
	fmt.Printf("dhcpflood: sent=%d sent_random=%d sent_loop=%d seconds=%.1f rate=%.0f/s replies=%d replies_random=%d replies_loop=%d\n",
		sent, c.sentRandom.Load(), c.sentLoop.Load(), elapsed.Seconds(), float64(sent)/elapsed.Seconds(),
		c.repliesRandom.Load()+c.repliesLoop.Load(), c.repliesRandom.Load(), c.repliesLoop.Load())
	return nil
}

// receive counts the replies to our MACs until the socket fails.
func receive(conn net.PacketConn, loop net.HardwareAddr, c *counts) {
	buf := make([]byte, 1500)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return
		}
		m, err := dhcpv4.FromBytes(buf[:n])
		if err != nil || m.OpCode != dhcpv4.OpcodeBootReply {
			continue
		}
		switch {
		case m.ClientHWAddr.String() == loop.String():
			c.repliesLoop.Add(1)
		case len(m.ClientHWAddr) == 6 && m.ClientHWAddr[0] == randomPrefix[0] && m.ClientHWAddr[1] == randomPrefix[1]:
			c.repliesRandom.Add(1)
		}
	}
}

func randomMAC() net.HardwareAddr {
	mac := make(net.HardwareAddr, 6)
	copy(mac, randomPrefix)
	rand.Read(mac[2:])
	return mac
}
