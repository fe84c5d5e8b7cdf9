package dhcpboot

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func TestRateLimitDenyAndOwnAddress(t *testing.T) {
	s := &Server{Mode: ModeProxy, Address: testSelf, Policy: testPolicy(),
		RateLimit: RateLimit{PerSecond: 0.001, Burst: 3},
		Filter:    Filter{Deny: Match{VendorClasses: []string{"HTTPClient"}}}}
	client, server := loopback(t, s, false)
	disc := request(t, dhcpv4.MessageTypeDiscover, biosFirmware).ToBytes()
	var replies int
	for range 5 {
		if exchange(t, client, server, disc, 300*time.Millisecond) != nil {
			replies++
		}
	}
	if replies != 3 || s.Stats().Get(MsgDiscover, OutRateLimited) != 2 {
		t.Errorf("%d replies, %d rate limited; want 3 and 2", replies, s.Stats().Get(MsgDiscover, OutRateLimited))
	}
	other := dhcpv4.WithHwAddr(hw.MAC{2, 0, 0, 0, 0, 7}.HardwareAddr())
	if r := exchange(t, client, server, request(t, dhcpv4.MessageTypeDiscover, uefiHTTP, other).ToBytes(), 300*time.Millisecond); r != nil {
		t.Errorf("denied vendor class answered: %v", r.Summary())
	}
	if s.Stats().Get(MsgDiscover, OutDenied) != 1 {
		t.Errorf("denied = %d", s.Stats().Get(MsgDiscover, OutDenied))
	}

	// A server whose own address is the sender's ignores it.
	own := &Server{Mode: ModeProxy, Address: netip.MustParseAddr("127.0.0.1"), Policy: testPolicy()}
	c2, s2 := loopback(t, own, false)
	if r := exchange(t, c2, s2, disc, 300*time.Millisecond); r != nil {
		t.Errorf("answered its own address: %v", r.Summary())
	}
	if own.Stats().Get(MsgDiscover, OutOwn) != 1 {
		t.Errorf("own = %v", own.Stats().Counters())
	}
}

func TestFullModeSubnetsAndHosts(t *testing.T) {
	subnets := append(testSubnets(), Subnet{
		Prefix: netip.MustParsePrefix("10.77.0.0/24"), Interface: "br1", ServerAddr: netip.MustParseAddr("10.77.0.1"),
		Range: Range{netip.MustParseAddr("10.77.0.50"), netip.MustParseAddr("10.77.0.60")}})
	reserved := hw.MAC{2, 0, 0, 0, 0, 0x55}
	hosts := func(mac hw.MAC) Host {
		if mac == reserved {
			return Host{IP: netip.MustParseAddr("10.231.0.20"), Hostname: "lab-55"}
		}
		return Host{}
	}
	var logs bytes.Buffer
	s := &Server{Mode: ModeFull, Address: testSelf, Policy: testPolicy(), Subnets: subnets, Hosts: hosts, Interface: "br0",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	s.Subnets[0].Interface = "br0"
	s.init()
	run := func(ifname string, mt dhcpv4.MessageType, kind []dhcpv4.Modifier, extra ...dhcpv4.Modifier) result {
		req := request(t, mt, kind, extra...)
		c := parse(t, req)
		r := query{req: req, c: c, ifname: ifname}
		r.h = hosts(c.MAC)
		r.d = Decide(c, r.h, s.Policy)
		res := s.handle(r)
		s.logNoReply(r, res, time.Now())
		return res
	}
	// By interface: br1's own range and our address there.
	res := run("br1", dhcpv4.MessageTypeDiscover, plainClient)
	if res.reply == nil || res.reply.YourIPAddr.String() != "10.77.0.50" || !res.reply.ServerIdentifier().Equal(net.ParseIP("10.77.0.1")) {
		t.Fatalf("br1 offer: %+v", res)
	}
	// By giaddr: the relayed subnet, whatever the interface.
	res = run("br1", dhcpv4.MessageTypeDiscover, plainClient, dhcpv4.WithGatewayIP(net.IP{10, 9, 0, 1}))
	if res.reply == nil || res.reply.YourIPAddr.String() != "10.9.0.100" || res.reply.DomainName() != "relayed.test" {
		t.Fatalf("relayed offer: %+v", res)
	}
	// An interface with no subnet, and a relay from an unknown network.
	if res := run("br9", dhcpv4.MessageTypeDiscover, plainClient); res.reply != nil {
		t.Errorf("answered on an interface without a subnet")
	}
	if res := run("br0", dhcpv4.MessageTypeDiscover, plainClient, dhcpv4.WithGatewayIP(net.IP{192, 168, 5, 1})); res.reply != nil {
		t.Errorf("answered a relay from an unknown network")
	}
	// Reservation and hostname from Hosts.
	res = run("br0", dhcpv4.MessageTypeDiscover, plainClient, dhcpv4.WithHwAddr(reserved.HardwareAddr()))
	if res.reply == nil || res.reply.YourIPAddr.String() != "10.231.0.20" || res.reply.HostName() != "lab-55" {
		t.Fatalf("reserved offer: %+v", res)
	}
	res = run("br0", dhcpv4.MessageTypeRequest, plainClient, dhcpv4.WithHwAddr(reserved.HardwareAddr()),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IP{10, 231, 0, 101})))
	if res.reply == nil || res.reply.MessageType() != dhcpv4.MessageTypeNak {
		t.Errorf("reserved client asking for another address: %+v, want NAK", res)
	}
	// An arch without a boot file (ARM 32-bit): an address without boot
	// options, one warning however often it asks, naming the fix.
	arm := append(uefiFirmware[:1:1], dhcpv4.WithOption(dhcpv4.OptClientArch(10)), dhcpv4.WithHwAddr(hw.MAC{2, 0, 0, 0, 0, 0x33}.HardwareAddr()))
	for range 3 {
		res := run("br0", dhcpv4.MessageTypeDiscover, arm)
		if res.reply == nil || res.reply.YourIPAddr.IsUnspecified() || res.reply.BootFileNameOption() != "" ||
			res.reply.Options.Has(dhcpv4.OptionClassIdentifier) {
			t.Fatalf("arm32 without a boot file: %+v, want an address without boot options", res.reply)
		}
		req := request(t, dhcpv4.MessageTypeDiscover, arm)
		s.finish(listener{conn: discardConn{}}, query{req: req, c: parse(t, req), d: Decision{Reason: ReasonNoFile}}, res, &net.UDPAddr{}, time.Now())
	}
	s.pools[0].Cancel(hw.MAC{2, 0, 0, 0, 0, 0x33})
	if n := strings.Count(logs.String(), "no boot file for this client's arch"); n != 1 || !strings.Contains(logs.String(), "boot_files: {efi-arm32: FILE}") {
		t.Errorf("%d warnings for the arm32 client, want 1 naming boot_files:\n%s", n, logs.String())
	}
	// A full pool: no offer, a warning.
	s.pools[0].Commit(hw.MAC{2, 1, 1, 1, 1, 1}, netip.MustParseAddr("10.231.0.100"), netip.Addr{}, time.Hour)
	s.pools[0].Commit(hw.MAC{2, 1, 1, 1, 1, 2}, netip.MustParseAddr("10.231.0.101"), netip.Addr{}, time.Hour)
	if res := run("br0", dhcpv4.MessageTypeDiscover, plainClient); res.out != OutExhausted {
		t.Errorf("full pool: %+v", res)
	}
	if !strings.Contains(logs.String(), "address pool exhausted") {
		t.Errorf("no exhaustion warning:\n%s", logs.String())
	}
}

// TestGroupCommit sends many REQUESTs at once to a server on a lease
// file: every client gets an ACK for its own address, and every lease is
// on disk when the file is opened again.
func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), LeaseFileName)
	db, err := OpenLeaseDB(path)
	if err != nil {
		t.Fatal(err)
	}
	subnets := testSubnets()
	subnets[0].Range.End = netip.MustParseAddr("10.231.0.250")
	s := &Server{Mode: ModeFull, Address: testSelf, Policy: testPolicy(), Subnets: subnets, Leases: db}
	client, server := loopback(t, s, false)
	const n = 100
	for i := range n {
		req := request(t, dhcpv4.MessageTypeRequest, plainClient,
			dhcpv4.WithHwAddr(hw.MAC{2, 0, 0, 0, 1, byte(i)}.HardwareAddr()),
			dhcpv4.WithTransactionID(dhcpv4.TransactionID{0, 0, 0, byte(i)}),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IP{10, 231, 0, byte(100 + i)})))
		if _, err := client.WriteTo(req.ToBytes(), server); err != nil {
			t.Fatal(err)
		}
	}
	acks := map[string]string{}
	buf := make([]byte, 1500)
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(acks) < n {
		m, _, err := client.ReadFrom(buf)
		if err != nil {
			t.Fatalf("%d ACKs, then %v", len(acks), err)
		}
		r, err := dhcpv4.FromBytes(buf[:m])
		if err != nil || r.MessageType() != dhcpv4.MessageTypeAck {
			t.Fatalf("reply %v, %v", r, err)
		}
		if want := fmt.Sprintf("10.231.0.%d", 100+int(r.TransactionID[3])); r.YourIPAddr.String() != want {
			t.Errorf("client %d got %s, want %s", r.TransactionID[3], r.YourIPAddr, want)
		}
		acks[r.ClientHWAddr.String()] = r.YourIPAddr.String()
	}
	s.Shutdown(context.Background())
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = OpenLeaseDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Len() != n {
		t.Errorf("%d leases on disk, want %d", db.Len(), n)
	}
	for _, l := range db.Leases() {
		if acks[l.MAC.String()] != l.Addr.String() {
			t.Errorf("on disk %s -> %s, ACKed %s", l.MAC, l.Addr, acks[l.MAC.String()])
		}
	}
}
