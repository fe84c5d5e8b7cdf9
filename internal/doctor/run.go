package doctor

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Doctor is a PXE client on one interface. The zero value of each knob
// is a documented default; Interface (or Conn) is required.
type Doctor struct {
	Interface string           // where to act as a PXE client
	MAC       net.HardwareAddr // chaddr; nil: the interface's
	Arch      hw.Arch          // the firmware to play (its option 93); hw.ArchUnknown: efi-x64
	Wait      time.Duration    // how long to collect offers and await each reply; zero: 10s

	// Conn replaces the port 68 socket Run opens on Interface; Run then
	// assigns no address to any interface. Tests hand in a loopback socket.
	Conn net.PacketConn
	// Servers is where broadcasts go; nil: 255.255.255.255:67.
	Servers []netip.AddrPort
	// Redirect maps every unicast destination (DHCP 67 and 4011, TFTP,
	// HTTP) before use; nil: unchanged. Tests point it at loopback.
	Redirect func(netip.AddrPort) netip.AddrPort
	// TFTPTimeout is how long each TFTP packet is awaited (4 tries);
	// zero: 2s. A ROM gives up on a silent server after about that long.
	TFTPTimeout time.Duration
	// Log, if set, is told what Run is doing, one line per step.
	Log func(format string, args ...any)
}

// Run acts as a PXE client and returns what it observed. It returns an
// error only when it cannot act at all (no such interface, port 68 in
// use); everything the network does wrong is in the facts.
func (d *Doctor) Run(ctx context.Context) (Facts, error) {
	c, l, err := d.open()
	if err != nil {
		return Facts{}, err
	}
	defer c.conn.Close()
	f := Facts{Interface: d.Interface, MAC: c.mac.String(), Arch: d.arch(), Wait: d.wait()}

	d.logf("1. broadcasting a PXE DHCPDISCOVER, collecting offers for %s", f.Wait)
	disc, err := c.discover(false)
	if err != nil {
		return f, err
	}
	if f.Offers, err = c.broadcast(disc, f.Wait, nil); err != nil {
		return f, err
	}
	choice := Choose(f.Offers)
	undo, ack := d.lease(c, l, disc, choice, &f)
	if undo != nil {
		defer func() {
			if err := undo(); err != nil {
				d.logf("%v", err)
			}
		}()
	}
	d.bootServer(c, choice, ack, &f)
	d.fetchNBP(ctx, choice, &f)
	if len(f.Offers) > 0 {
		d.ipxe(ctx, c, f.Offers, &f)
	}
	if ack != nil && !l.has(ack.YourIP) {
		d.release(c, *ack)
	}
	return f, nil
}

// open returns the DHCP client and, when Run opened the socket itself,
// the interface it is on.
func (d *Doctor) open() (*client, *link, error) {
	c := &client{conn: d.Conn, mac: d.MAC, arch: d.arch(), redirect: d.Redirect,
		servers: d.Servers}
	if c.redirect == nil {
		c.redirect = func(a netip.AddrPort) netip.AddrPort { return a }
	}
	if len(c.servers) == 0 {
		c.servers = []netip.AddrPort{netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), dhcpv4.ServerPort)}
	}
	var l *link
	if c.conn == nil {
		if d.Interface == "" {
			return nil, nil, errNoInterface
		}
		var err error
		if l, c.conn, err = openLink(d.Interface); err != nil {
			return nil, nil, err
		}
		if c.mac == nil {
			c.mac = l.mac
		}
	}
	if len(c.mac) != 6 {
		if c.conn != d.Conn {
			c.conn.Close()
		}
		return nil, nil, fmt.Errorf("doctor: need a 6-byte Ethernet MAC, have %q", c.mac)
	}
	return c, l, nil
}

// lease is step 2's DHCPREQUEST. With an ACK on an interface without an
// address, it puts the address on the interface and returns how to
// remove it.
func (d *Doctor) lease(c *client, l *link, disc *dhcpv4.DHCPv4, choice Choice, f *Facts) (func() error, *Offer) {
	if choice.Address < 0 {
		return nil, nil
	}
	o := f.Offers[choice.Address]
	d.logf("2. requesting %s from %s", o.YourIP, o.ServerID)
	req, err := c.request(disc, o)
	if err != nil {
		f.Request = &Exchange{Err: err.Error()}
		return nil, nil
	}
	replies, err := c.broadcast(req, f.Wait, func([]Offer) bool { return true })
	f.Request = &Exchange{To: c.servers[0], Wait: f.Wait}
	if err != nil {
		f.Request.Err = err.Error()
	}
	if len(replies) == 0 {
		return nil, nil
	}
	f.Request.Reply = &replies[0]
	if !f.Request.Answered("ACK") {
		return nil, nil
	}
	ack := f.Request.Reply
	bits := cmp.Or(ack.Mask, o.Mask, 24)
	undo, err := l.assign(netip.PrefixFrom(ack.YourIP, bits))
	if err != nil {
		d.logf("could not put %s on %s: %v", ack.YourIP, d.Interface, err)
	} else if undo != nil {
		f.Assigned = netip.PrefixFrom(ack.YourIP, bits).String()
	}
	return undo, ack
}

// bootServer is step 2's REQUEST to the proxyDHCP server's port 4011.
func (d *Doctor) bootServer(c *client, choice Choice, ack *Offer, f *Facts) {
	if !choice.CheckBootServer {
		return
	}
	var ciaddr netip.Addr
	if ack != nil {
		ciaddr = ack.YourIP
	}
	dst := netip.AddrPortFrom(f.Offers[choice.Boot].ServerID, 4011)
	d.logf("2. asking the PXE boot server %s", dst)
	req, err := c.bootRequest(ciaddr)
	if err != nil {
		f.BootServer = &Exchange{To: dst, Err: err.Error()}
		return
	}
	f.BootServer = c.unicast(req, dst, f.Wait)
}

// fetchNBP is step 3: the boot file over TFTP, or HTTP when it is a URL.
func (d *Doctor) fetchNBP(ctx context.Context, choice Choice, f *Facts) {
	t, ok := BootTarget(*f, choice)
	if !ok || (!IsURL(t.File) && !t.Server.IsValid()) {
		return
	}
	d.logf("3. fetching %s", t.URL())
	if IsURL(t.File) {
		f.NBP = fetchHTTP(ctx, httpClient(d.wait(), d.Redirect), t.File)
		return
	}
	server := d.redirect(netip.AddrPortFrom(t.Server, 69))
	f.NBP = fetchTFTP(server.String(), t.File, cmp.Or(d.TFTPTimeout, 2*time.Second), 3)
	f.NBP.URL = t.URL()
}

// ipxe is step 4: what a client running iPXE is told, and the script
// and menu it fetches. It waits for replies from the servers that
// answered the first DISCOVER, no longer.
func (d *Doctor) ipxe(ctx context.Context, c *client, first []Offer, f *Facts) {
	d.logf("4. broadcasting a DHCPDISCOVER as iPXE")
	disc, err := c.discover(true)
	if err != nil {
		return
	}
	want := map[netip.Addr]bool{}
	for _, o := range first {
		want[o.ServerID] = true
	}
	f.IPXESent = true
	f.IPXEOffers, _ = c.broadcast(disc, f.Wait, func(got []Offer) bool {
		seen := map[netip.Addr]bool{}
		for _, o := range got {
			seen[o.ServerID] = true
		}
		return len(seen) >= len(want)
	})
	ic := Choose(f.IPXEOffers)
	if ic.Boot < 0 || !IsURL(f.IPXEOffers[ic.Boot].BootName()) {
		return
	}
	hc := httpClient(d.wait(), d.Redirect)
	f.Script = fetchHTTP(ctx, hc, f.IPXEOffers[ic.Boot].BootName())
	if !f.Script.OK() || !f.Script.IPXE || f.Script.Chain == "" {
		return
	}
	menu, err := expandChain(f.Script.Chain, f.Script.URL, c.mac, d.arch())
	if err != nil {
		f.Menu = &Fetch{URL: f.Script.Chain, TSize: -1, Err: err.Error()}
		return
	}
	d.logf("4. fetching %s", menu)
	f.Menu = fetchHTTP(ctx, hc, menu)
}

// release gives the address back to the server that leased it.
func (d *Doctor) release(c *client, ack Offer) {
	p, err := c.release(ack)
	if err == nil {
		_, err = c.conn.WriteTo(p.ToBytes(), net.UDPAddrFromAddrPort(c.redirect(netip.AddrPortFrom(ack.ServerID, dhcpv4.ServerPort))))
	}
	if err != nil {
		d.logf("release %s: %v", ack.YourIP, err)
	}
}

func (d *Doctor) wait() time.Duration { return cmp.Or(d.Wait, 10*time.Second) }

func (d *Doctor) arch() hw.Arch { return cmp.Or(d.Arch, hw.ArchEFIx64) }

func (d *Doctor) redirect(a netip.AddrPort) netip.AddrPort {
	if d.Redirect == nil {
		return a
	}
	return d.Redirect(a)
}

func (d *Doctor) logf(format string, args ...any) {
	if d.Log != nil {
		d.Log(format, args...)
	}
}
