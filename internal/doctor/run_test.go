package doctor

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// The network of the end-to-end tests: a LAN DHCP server at 10.231.0.1
// and bootwright's proxy at 10.231.0.2, all really on 127.0.0.1 ports
// that Doctor.Redirect maps these addresses to.
var (
	lanAddr   = netip.MustParseAddr("10.231.0.1")
	proxyAddr = netip.MustParseAddr("10.231.0.2")
	clientMAC = net.HardwareAddr{0x52, 0x54, 0x00, 0x00, 0x00, 0x01}
)

func listenUDP(t *testing.T) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrPort(c net.PacketConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// lanServer is a DHCP server with addresses only (as dnsmasq with just a
// dhcp-range): OFFER 10.231.0.50, ACK when selected. It counts RELEASEs.
func lanServer(t *testing.T, client netip.AddrPort, releases *atomic.Int32) net.PacketConn {
	conn := listenUDP(t)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			req, err := dhcpv4.FromBytes(buf[:n])
			if err != nil {
				continue
			}
			mt := dhcpv4.MessageTypeOffer
			switch {
			case req.MessageType() == dhcpv4.MessageTypeRelease:
				releases.Add(1)
				continue
			case req.MessageType() == dhcpv4.MessageTypeRequest && req.ServerIdentifier().Equal(lanAddr.AsSlice()):
				mt = dhcpv4.MessageTypeAck
			case req.MessageType() != dhcpv4.MessageTypeDiscover:
				continue
			}
			reply, _ := dhcpv4.NewReplyFromRequest(req, dhcpv4.WithMessageType(mt),
				dhcpv4.WithYourIP(net.IPv4(10, 231, 0, 50)), dhcpv4.WithServerIP(lanAddr.AsSlice()),
				dhcpv4.WithNetmask(net.CIDRMask(24, 32)),
				dhcpv4.WithOption(dhcpv4.OptServerIdentifier(lanAddr.AsSlice())))
			conn.WriteTo(reply.ToBytes(), net.UDPAddrFromAddrPort(client))
		}
	}()
	return conn
}

// proxyServer is bootwright's dhcpboot in proxy mode; with bootServer
// false nothing answers its port 4011.
func proxyServer(t *testing.T, client netip.AddrPort, bootServer bool) (dhcp, pxe net.PacketConn) {
	s := &dhcpboot.Server{Mode: dhcpboot.ModeProxy, Address: proxyAddr, BroadcastAddr: client,
		Policy: dhcpboot.Policy{BootFiles: dhcpboot.DefaultBootFiles(hw.NBPSnponly),
			IPXEScript: "http://10.231.0.2:8080/boot.ipxe"}}
	dhcp, pxe = listenUDP(t), listenUDP(t)
	go s.Serve(dhcp)
	if bootServer {
		go s.ServeBootServer(pxe)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return dhcp, pxe
}

// bootHTTP serves a boot.ipxe like bootwright's and the menu it chains to.
func bootHTTP(t *testing.T) netip.AddrPort {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/boot.ipxe":
			io.WriteString(w, "#!ipxe\nchain --autofree http://10.231.0.2:8080/ipxe/${mac:hexhyp}?arch=${buildarch}&platform=${platform} || goto failed\n")
		case r.URL.Path == "/ipxe/52-54-00-00-00-01" && r.URL.RawQuery == "arch=x86_64&platform=efi":
			io.WriteString(w, "#!ipxe\nmenu Lab\n")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	return netip.MustParseAddrPort(ts.Listener.Addr().String())
}

// runDoctor runs a doctor against the test network and returns its report.
func runDoctor(t *testing.T, withLAN, withProxy, bootServer bool) (Report, int32) {
	t.Helper()
	client := listenUDP(t)
	routes := map[netip.AddrPort]netip.AddrPort{
		netip.AddrPortFrom(proxyAddr, 69):   netip.MustParseAddrPort(tftpServer(t, map[string][]byte{"snponly.efi": make([]byte, 5000)})),
		netip.AddrPortFrom(proxyAddr, 8080): bootHTTP(t),
	}
	var servers []netip.AddrPort
	var releases atomic.Int32
	if withLAN {
		lan := lanServer(t, addrPort(client), &releases)
		servers = append(servers, addrPort(lan))
		routes[netip.AddrPortFrom(lanAddr, 67)] = addrPort(lan)
	}
	if withProxy {
		dhcp, pxe := proxyServer(t, addrPort(client), bootServer)
		servers = append(servers, addrPort(dhcp))
		routes[netip.AddrPortFrom(proxyAddr, 4011)] = addrPort(pxe)
	}
	d := &Doctor{Conn: client, MAC: clientMAC, Wait: 300 * time.Millisecond, Servers: servers,
		TFTPTimeout: 100 * time.Millisecond,
		Redirect: func(a netip.AddrPort) netip.AddrPort {
			if r, ok := routes[a]; ok {
				return r
			}
			t.Errorf("unexpected destination %s", a)
			return a
		}}
	if len(servers) == 0 {
		d.Servers = []netip.AddrPort{addrPort(listenUDP(t))}
	}
	f, err := d.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // let the RELEASE arrive
	return NewReport(f), releases.Load()
}

func TestRunProxyBesideLAN(t *testing.T) {
	r, releases := runDoctor(t, true, true, true)
	var text strings.Builder
	r.WriteText(&text)
	if !r.OK {
		t.Fatalf("want a boot, got:\n%s", text.String())
	}
	f := r.Facts
	if len(f.Offers) != 2 || !f.Request.Answered("ACK") || !f.BootServer.Answered("ACK") {
		t.Errorf("offers, request, boot server: %+v %+v %+v", f.Offers, f.Request, f.BootServer)
	}
	if f.NBP == nil || f.NBP.Size != 5000 || f.NBP.URL != "tftp://10.231.0.2/snponly.efi" {
		t.Errorf("NBP = %+v", f.NBP)
	}
	if !f.Menu.OK() || !f.Menu.IPXE || !strings.HasSuffix(f.Menu.URL, "/ipxe/52-54-00-00-00-01?arch=x86_64&platform=efi") {
		t.Errorf("menu = %+v", f.Menu)
	}
	// An x86-64 UEFI client's proxy offer has no discovery control: the
	// firmware asks port 4011 (dhcpboot's discoveryControl says why).
	for _, o := range f.Offers {
		if o.ServerID == proxyAddr && (!o.GUIDEchoed || o.BootAtOnce() || o.VendorClass != "PXEClient") {
			t.Errorf("proxy offer = %+v", o)
		}
	}
	if releases != 1 {
		t.Errorf("%d RELEASEs reached the LAN server, want 1", releases)
	}
	for _, want := range []string{"✓ address from 10.231.0.1, boot file from the proxyDHCP 10.231.0.2", "✓ PXE boot server 10.231.0.2:4011", "would boot"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
}

func TestRunBootServerSilent(t *testing.T) {
	r, _ := runDoctor(t, true, true, false)
	if r.OK || !hasCode(r.Findings, E55) || !r.Facts.NBP.OK() {
		t.Errorf("want E55 and the NBP still fetched, got %+v\nNBP %+v", r.Findings, r.Facts.NBP)
	}
}

func TestRunNoBootServer(t *testing.T) {
	r, _ := runDoctor(t, true, false, false)
	if r.OK || !hasCode(r.Findings, E53) {
		t.Errorf("want E53, got %+v", r.Findings)
	}
}

func TestRunNothing(t *testing.T) {
	r, _ := runDoctor(t, false, false, false)
	if r.OK || !hasCode(r.Findings, E51) || r.Facts.IPXESent {
		t.Errorf("want E51 and no iPXE step, got %+v", r.Findings)
	}
}

// TestDiscoverPacket checks the DISCOVERs carry what a PXE ROM and iPXE send.
func TestDiscoverPacket(t *testing.T) {
	c := &client{mac: clientMAC, arch: hw.ArchBIOS}
	for _, ipxe := range []bool{false, true} {
		p, err := c.discover(ipxe)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := dhcpboot.ParseClient(p)
		if err != nil {
			t.Fatal(err)
		}
		if !parsed.IsPXEClient() || parsed.Arch != hw.ArchFromCode(uint16(iana.INTEL_X86PC)) || parsed.IPXE != ipxe || !p.IsBroadcast() ||
			!strings.HasPrefix(parsed.VendorClass, "PXEClient:Arch:00000:UNDI:") || len(parsed.GUID) != 17 {
			t.Errorf("ipxe=%v: parsed %+v", ipxe, parsed)
		}
		for _, code := range []dhcpv4.OptionCode{dhcpv4.OptionTFTPServerName, dhcpv4.OptionBootfileName, dhcpv4.OptionVendorSpecificInformation} {
			if !p.ParameterRequestList().Has(code) {
				t.Errorf("option 55 lacks %v", code)
			}
		}
	}
}

func hasCode(fs []Finding, code string) bool {
	for _, f := range fs {
		if f.Code == code {
			return true
		}
	}
	return false
}
