// Command pxeclient behaves like a UEFI PXE ROM on one interface, for
// the real-software DHCP tests: it broadcasts a DHCPDISCOVER with options
// 60, 93 and 97, collects every OFFER for a while, takes the address from
// the offer that has one (the LAN's DHCP server) with a REQUEST/ACK, puts
// that address on the interface, and then asks the proxyDHCP offer's
// server for the boot file on port 4011 (PXE 2.1 section 2.2.6). It
// prints one line per step:
//
//	lan server=10.0.0.1 yiaddr=10.0.0.50
//	proxy server=10.0.0.2 yiaddr=0.0.0.0 vendor=PXEClient opt43=060108ff guid=echoed bootfile=snponly.efi
//	ack server=10.0.0.1 yiaddr=10.0.0.50
//	boot server=10.0.0.2 port=4011 yiaddr=0.0.0.0 bootfile=snponly.efi
//
// and exits 1 when a step fails. Run it only inside a test namespace.
//
// With -proxy=false it stops after the ACK, for a full-mode server that
// gives the address and the boot file in one offer.
//
// Usage: pxeclient -i eth0 [-mac 52:54:00:aa:00:01] [-arch 7] [-wait 10s] [-proxy=false]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/insomniacslk/dhcp/iana"
)

var guid = []byte{0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01}

func main() {
	ifname := flag.String("i", "eth0", "interface")
	macFlag := flag.String("mac", "", "client MAC (default: the interface's)")
	arch := flag.Uint("arch", 7, "option 93 arch")
	wait := flag.Duration("wait", 10*time.Second, "how long to wait for offers and replies")
	proxy := flag.Bool("proxy", true, "expect a proxyDHCP offer and do the port 4011 exchange")
	flag.Parse()
	if err := run(*ifname, *macFlag, uint16(*arch), *wait, *proxy); err != nil {
		fmt.Fprintln(os.Stderr, "pxeclient:", err)
		os.Exit(1)
	}
}

func run(ifname, macFlag string, arch uint16, wait time.Duration, wantProxy bool) error {
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return err
	}
	mac := ifc.HardwareAddr
	if macFlag != "" {
		if mac, err = net.ParseMAC(macFlag); err != nil {
			return err
		}
	}
	conn, err := server4.NewIPv4UDPConn(ifname, &net.UDPAddr{Port: dhcpv4.ClientPort})
	if err != nil {
		return err
	}
	defer conn.Close()
	vc := fmt.Sprintf("PXEClient:Arch:%05d:UNDI:003016", arch)
	pxe := []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier(vc)),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.Arch(arch))),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, guid),
		dhcpv4.WithGeneric(dhcpv4.OptionClientNetworkInterfaceIdentifier, []byte{1, 3, 16}),
		dhcpv4.WithBroadcast(true),
		dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter,
			dhcpv4.OptionVendorSpecificInformation, dhcpv4.OptionClassIdentifier,
			dhcpv4.OptionTFTPServerName, dhcpv4.OptionBootfileName),
	}
	disc, err := dhcpv4.NewDiscovery(mac, pxe...)
	if err != nil {
		return err
	}
	// Like a PXE ROM, wait for the offers (dnsmasq pings an address
	// before offering it, which takes a few seconds), and stop as soon as
	// there are both kinds.
	offers, err := collect(conn, disc, wait, func(got []*dhcpv4.DHCPv4) bool {
		var addr, proxy bool
		for _, o := range got {
			addr = addr || !o.YourIPAddr.IsUnspecified()
			proxy = proxy || o.YourIPAddr.IsUnspecified()
		}
		return addr && (proxy || !wantProxy)
	})
	if err != nil {
		return err
	}
	var lan, proxy *dhcpv4.DHCPv4
	for _, o := range offers {
		switch {
		case !o.YourIPAddr.IsUnspecified() && lan == nil:
			lan = o
			fmt.Printf("lan server=%s yiaddr=%s bootfile=%s\n", o.ServerIdentifier(), o.YourIPAddr, o.BootFileNameOption())
		case o.YourIPAddr.IsUnspecified() && o.ClassIdentifier() == "PXEClient" && proxy == nil:
			proxy = o
			echoed := "missing"
			if bytes.Equal(o.Options.Get(dhcpv4.OptionClientMachineIdentifier), guid) {
				echoed = "echoed"
			}
			fmt.Printf("proxy server=%s siaddr=%s yiaddr=%s vendor=%s opt43=%x guid=%s bootfile=%s\n",
				o.ServerIdentifier(), o.ServerIPAddr, o.YourIPAddr, o.ClassIdentifier(),
				o.Options.Get(dhcpv4.OptionVendorSpecificInformation), echoed, o.BootFileNameOption())
		}
	}
	if lan == nil {
		return errors.New("no offer with an address (is the LAN's DHCP server up?)")
	}
	if proxy == nil && wantProxy {
		return errors.New("no proxyDHCP offer")
	}
	req, err := dhcpv4.NewRequestFromOffer(lan, pxe...)
	if err != nil {
		return err
	}
	acks, err := collect(conn, req, wait, nil)
	if err != nil {
		return err
	}
	if len(acks) == 0 || acks[0].MessageType() != dhcpv4.MessageTypeAck {
		return fmt.Errorf("no ACK from the LAN server %s", lan.ServerIdentifier())
	}
	ack := acks[0]
	fmt.Printf("ack server=%s yiaddr=%s bootfile=%s\n", ack.ServerIdentifier(), ack.YourIPAddr, ack.BootFileNameOption())
	if !wantProxy {
		return nil
	}
	ones, _ := ack.SubnetMask().Size()
	if out, err := exec.Command("ip", "addr", "replace", fmt.Sprintf("%s/%d", ack.YourIPAddr, ones), "dev", ifname).CombinedOutput(); err != nil {
		return fmt.Errorf("ip addr: %v: %s", err, out)
	}
	// PXE 2.1: the boot server request goes from port 68 to the proxy's
	// port 4011, ciaddr set, and the reply comes back to port 68.
	boot, err := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithClientIP(ack.YourIPAddr))
	if err != nil {
		return err
	}
	for _, m := range pxe[:4] {
		m(boot)
	}
	siaddr := proxy.ServerIdentifier()
	replies, err := send(conn, boot, &net.UDPAddr{IP: siaddr, Port: 4011}, wait, nil)
	if err != nil {
		return err
	}
	if len(replies) == 0 {
		return fmt.Errorf("no reply from the boot server %s:4011 (PXE-E55)", siaddr)
	}
	r := replies[0]
	fmt.Printf("boot server=%s port=4011 type=%s yiaddr=%s bootfile=%s\n", r.ServerIdentifier(), r.MessageType(), r.YourIPAddr, r.BootFileNameOption())
	return nil
}

// collect broadcasts p and returns the replies to it; see send.
func collect(conn net.PacketConn, p *dhcpv4.DHCPv4, wait time.Duration, enough func([]*dhcpv4.DHCPv4) bool) ([]*dhcpv4.DHCPv4, error) {
	return send(conn, p, &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ServerPort}, wait, enough)
}

// send sends p to dst and returns the replies with its xid that arrive
// within wait: for a DISCOVER, until enough says so; otherwise the first.
func send(conn net.PacketConn, p *dhcpv4.DHCPv4, dst net.Addr, wait time.Duration, enough func([]*dhcpv4.DHCPv4) bool) ([]*dhcpv4.DHCPv4, error) {
	if _, err := conn.WriteTo(p.ToBytes(), dst); err != nil {
		return nil, err
	}
	var out []*dhcpv4.DHCPv4
	deadline := time.Now().Add(wait)
	buf := make([]byte, 1500)
	for {
		conn.SetReadDeadline(deadline)
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return out, nil
		}
		r, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			fmt.Fprintf(os.Stderr, "pxeclient: unparsable reply (%d bytes): %v\n", n, err)
			continue
		}
		if r.OpCode != dhcpv4.OpcodeBootReply || r.TransactionID != p.TransactionID {
			continue
		}
		out = append(out, r)
		if enough == nil || enough(out) {
			return out, nil
		}
	}
}
