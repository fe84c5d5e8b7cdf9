// Command dhcpforge sends one DHCP message with whatever MAC, ciaddr and
// requested address it is told, as a host on the boot network could, and
// prints the reply it gets within -wait: "reply TYPE yiaddr=ADDR" or
// "no reply". test/security/answers.sh forges INFORM, REQUEST, RELEASE and
// DECLINE with it. It sends to -to (default the broadcast address, port 67)
// from -from:68 (default 0.0.0.0:68), on -i.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
)

func main() {
	ifname := flag.String("i", "eth0", "interface")
	typ := flag.String("type", "inform", "inform, request, release, decline or discover")
	macFlag := flag.String("mac", "", "chaddr")
	ciaddr := flag.String("ciaddr", "", "ciaddr")
	requested := flag.String("requested", "", "option 50")
	server := flag.String("server", "", "option 54")
	to := flag.String("to", "255.255.255.255", "destination address (port 67)")
	wait := flag.Duration("wait", 2*time.Second, "how long to wait for a reply")
	flag.Parse()
	if err := run(*ifname, *typ, *macFlag, *ciaddr, *requested, *server, *to, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "dhcpforge:", err)
		os.Exit(1)
	}
}

var types = map[string]dhcpv4.MessageType{
	"inform": dhcpv4.MessageTypeInform, "request": dhcpv4.MessageTypeRequest, "release": dhcpv4.MessageTypeRelease,
	"decline": dhcpv4.MessageTypeDecline, "discover": dhcpv4.MessageTypeDiscover,
}

func run(ifname, typ, macFlag, ciaddr, requested, server, to string, wait time.Duration) error {
	mt, ok := types[typ]
	if !ok {
		return fmt.Errorf("unknown -type %q", typ)
	}
	mac, err := net.ParseMAC(macFlag)
	if err != nil {
		return err
	}
	mods := []dhcpv4.Modifier{dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(mt)}
	if ciaddr != "" {
		mods = append(mods, dhcpv4.WithClientIP(net.ParseIP(ciaddr)))
	}
	if requested != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(requested))))
	}
	if server != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(server))))
	}
	if to == "255.255.255.255" {
		mods = append(mods, dhcpv4.WithBroadcast(true))
	}
	p, err := dhcpv4.New(mods...)
	if err != nil {
		return err
	}
	conn, err := server4.NewIPv4UDPConn(ifname, &net.UDPAddr{Port: dhcpv4.ClientPort})
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.WriteTo(p.ToBytes(), &net.UDPAddr{IP: net.ParseIP(to), Port: dhcpv4.ServerPort}); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for deadline := time.Now().Add(wait); ; {
		conn.SetReadDeadline(deadline)
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			fmt.Println("no reply")
			return nil
		}
		r, err := dhcpv4.FromBytes(buf[:n])
		if err != nil || r.OpCode != dhcpv4.OpcodeBootReply || r.TransactionID != p.TransactionID {
			continue
		}
		fmt.Printf("reply %s yiaddr=%s\n", r.MessageType(), r.YourIPAddr)
		return nil
	}
}
