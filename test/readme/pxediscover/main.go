// Command pxediscover is a test client: it broadcasts one BIOS PXE
// DHCPDISCOVER on eth0, then sends a UEFI PXE boot server REQUEST from
// CLIENT-IP (an address the client already has) to the server's port 4011, and prints each reply from the given server as
// "type=OFFER yiaddr=... siaddr=... bootfile=...". It exits 1 when a
// reply does not come within 10 seconds. Run it only inside a test
// network namespace.
package main

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/insomniacslk/dhcp/iana"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pxediscover SERVER-IP CLIENT-IP")
		os.Exit(2)
	}
	server, client := net.ParseIP(os.Args[1]), net.ParseIP(os.Args[2])
	conn, err := server4.NewIPv4UDPConn("eth0", &net.UDPAddr{Port: dhcpv4.ClientPort})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x99, 0x00, 0x01}
	req, err := dhcpv4.NewDiscovery(mac,
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := conn.WriteTo(req.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ServerPort}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !await(conn, req, server) {
		os.Exit(1)
	}

	// The PXE 2.1 boot server exchange: a REQUEST unicast to port 4011.
	pxe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: client})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer pxe.Close()
	req2, err := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithClientIP(client),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003000")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := pxe.WriteTo(req2.ToBytes(), &net.UDPAddr{IP: server, Port: 4011}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !await(pxe, req2, server) {
		os.Exit(1)
	}
}

// await prints the first reply to req from server and reports whether
// one came within 10 seconds.
func await(conn net.PacketConn, req *dhcpv4.DHCPv4, server net.IP) bool {
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1500)
	for time.Now().Before(deadline) {
		conn.SetReadDeadline(deadline)
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			break
		}
		r, err := dhcpv4.FromBytes(buf[:n])
		if err != nil || r.TransactionID != req.TransactionID || !r.ServerIdentifier().Equal(server) {
			continue
		}
		fmt.Printf("type=%s yiaddr=%s siaddr=%s bootfile=%s\n", r.MessageType(), r.YourIPAddr, r.ServerIPAddr, r.BootFileName)
		return true
	}
	fmt.Fprintf(os.Stderr, "no reply to %s\n", req.MessageType())
	return false
}
