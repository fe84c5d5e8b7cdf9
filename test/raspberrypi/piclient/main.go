// Command piclient does what a Raspberry Pi 4's EEPROM bootloader does on
// the network before its first TFTP read, as Raspberry Pi's documentation
// and public captures describe it, for test/raspberrypi. There is no Pi
// here: this is a model of one, checked against dnsmasq set up as
// Raspberry Pi's network boot tutorial says.
//
//   - It broadcasts the DHCPDISCOVER a Pi 4 sends (rpi-eeprom issue 58's
//     capture: options 53, 55, 93 = 0, 94 = 1.2.1, 97, 60
//     "PXEClient:Arch:00000:UNDI:002001"; option 97 in the documented
//     format: 0, "RPi4", board revision, the MAC's last 4 bytes, the
//     serial) and collects the offers.
//
//   - It boots only from an offer whose option 43 holds "Raspberry Pi
//     Boot" (the bootloader's PXE_OPTION43 match string); its address
//     comes from the offer that has one (the same offer in full mode,
//     the LAN's server beside a proxy).
//
//   - Its TFTP server is option 66 of that offer when it is a dotted
//     IPv4 address, else its siaddr, else its server identifier (option
//     54): dnsmasq's proxy offer carries only option 54, its full-mode
//     offer siaddr; bootwright sends all three.
//
//   - It REQUESTs the address (without option 60, as a Pi does), puts
//     it on the interface and prints:
//
//     offer server=10.0.0.1 yiaddr=10.0.0.50 pi-boot=no opt43=
//     offer server=10.0.0.2 yiaddr=0.0.0.0 pi-boot=yes opt43=0601030a04...
//     boot address=10.0.0.50 tftp=10.0.0.2 from=10.0.0.2
//
// It exits 1 when no offer has "Raspberry Pi Boot" (a Pi would try
// again, then move on to its next boot mode) or no server gives an
// address. Run it only inside a test namespace.
//
// Usage: piclient -i eth0 [-serial 9ffefdef] [-wait 8s]
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
)

func main() {
	ifname := flag.String("i", "eth0", "interface")
	serial := flag.String("serial", "9ffefdef", "the board's serial number (8 hex digits), for option 97")
	wait := flag.Duration("wait", 8*time.Second, "how long to wait for offers and the ACK")
	flag.Parse()
	if err := run(*ifname, *serial, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "piclient:", err)
		os.Exit(1)
	}
}

func run(ifname, serial string, wait time.Duration) error {
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return err
	}
	mac := ifc.HardwareAddr
	sn, err := strconv.ParseUint(serial, 16, 32)
	if err != nil {
		return fmt.Errorf("-serial %q: %v", serial, err)
	}
	// Option 97: type 0, then the fourcc "RPi4", the board revision
	// (0x00c03111, a Pi 4 Model B 4GB), the MAC's last 4 bytes and the
	// serial, each 4 bytes little-endian as the bootloader writes them.
	guid := append([]byte{0}, "RPi4"...)
	guid = binary.LittleEndian.AppendUint32(guid, 0x00c03111)
	guid = append(guid, mac[2:6]...)
	guid = binary.LittleEndian.AppendUint32(guid, uint32(sn))
	conn, err := server4.NewIPv4UDPConn(ifname, &net.UDPAddr{Port: dhcpv4.ClientPort})
	if err != nil {
		return err
	}
	defer conn.Close()
	var prl []dhcpv4.OptionCode
	for _, c := range []uint8{1, 3, 43, 60, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135} {
		prl = append(prl, dhcpv4.GenericOptionCode(c))
	}
	disc, err := dhcpv4.NewDiscovery(mac,
		dhcpv4.WithRequestedOptions(prl...),
		dhcpv4.WithGeneric(dhcpv4.OptionClientSystemArchitectureType, []byte{0, 0}),
		dhcpv4.WithGeneric(dhcpv4.OptionClientNetworkInterfaceIdentifier, []byte{1, 2, 1}),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, guid),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithBroadcast(true))
	if err != nil {
		return err
	}
	var lan, pi *dhcpv4.DHCPv4
	offers, err := send(conn, disc, bcast, wait, func(o *dhcpv4.DHCPv4) bool {
		if lan == nil && !o.YourIPAddr.IsUnspecified() {
			lan = o
		}
		if pi == nil && bytes.Contains(o.Options.Get(dhcpv4.OptionVendorSpecificInformation), []byte("Raspberry Pi Boot")) {
			pi = o
		}
		return lan != nil && pi != nil
	})
	if err != nil {
		return err
	}
	for _, o := range offers {
		fmt.Printf("offer server=%s yiaddr=%s pi-boot=%s opt43=%x\n", o.ServerIdentifier(), o.YourIPAddr,
			map[bool]string{true: "yes", false: "no"}[o == pi], o.Options.Get(dhcpv4.OptionVendorSpecificInformation))
	}
	if pi == nil {
		return errors.New("no offer with \"Raspberry Pi Boot\" in option 43")
	}
	if lan == nil {
		return errors.New("no offer with an address")
	}
	tftp := pi.ServerIdentifier()
	if !pi.ServerIPAddr.IsUnspecified() {
		tftp = pi.ServerIPAddr
	}
	if ip := net.ParseIP(pi.TFTPServerName()); ip != nil && ip.To4() != nil {
		tftp = ip
	}
	req, err := dhcpv4.NewRequestFromOffer(lan, dhcpv4.WithBroadcast(true))
	if err != nil {
		return err
	}
	acks, err := send(conn, req, bcast, wait, func(*dhcpv4.DHCPv4) bool { return true })
	if err != nil {
		return err
	}
	if len(acks) == 0 || acks[0].MessageType() != dhcpv4.MessageTypeAck {
		return fmt.Errorf("no ACK from %s", lan.ServerIdentifier())
	}
	ack := acks[0]
	ones, _ := ack.SubnetMask().Size()
	if out, err := exec.Command("ip", "addr", "replace", fmt.Sprintf("%s/%d", ack.YourIPAddr, ones), "dev", ifname).CombinedOutput(); err != nil {
		return fmt.Errorf("ip addr: %v: %s", err, out)
	}
	fmt.Printf("boot address=%s tftp=%s from=%s\n", ack.YourIPAddr, tftp, pi.ServerIdentifier())
	return nil
}

var bcast = &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ServerPort}

// send sends p to dst and returns the replies with its xid that arrive
// within wait, until enough says so.
func send(conn net.PacketConn, p *dhcpv4.DHCPv4, dst net.Addr, wait time.Duration, enough func(*dhcpv4.DHCPv4) bool) ([]*dhcpv4.DHCPv4, error) {
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
		if err != nil || r.OpCode != dhcpv4.OpcodeBootReply || r.TransactionID != p.TransactionID {
			continue
		}
		out = append(out, r)
		if enough(r) {
			return out, nil
		}
	}
}
