package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/insomniacslk/dhcp/iana"
	"golang.org/x/sys/unix"
)

// dhcpMux is the one port-68 socket that every simulated machine shares.
// Each machine sets the broadcast flag (RFC 2131 section 4.1), so every
// server broadcasts its replies and they all arrive here; the reader
// hands each to the machine waiting on its transaction ID.
type dhcpMux struct {
	conn *net.UDPConn

	mu      sync.Mutex
	waiters map[dhcpv4.TransactionID]chan *dhcpv4.DHCPv4

	stray atomic.Int64 // replies no machine was waiting for (late, duplicate)
	bad   atomic.Int64 // datagrams that did not parse
}

// newDHCPMux binds 0.0.0.0:68 on ifname (SO_BINDTODEVICE) and starts
// reading.
func newDHCPMux(ifname string) (*dhcpMux, error) {
	conn, err := server4.NewIPv4UDPConn(ifname, &net.UDPAddr{Port: dhcpv4.ClientPort})
	if err != nil {
		return nil, err
	}
	// A storm's replies arrive faster than one reader may drain them at
	// times; net.core.rmem_max is global, so force the size (root).
	if rc, err := conn.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
		})
	}
	m := &dhcpMux{conn: conn, waiters: map[dhcpv4.TransactionID]chan *dhcpv4.DHCPv4{}}
	go m.read()
	return m, nil
}

func (m *dhcpMux) Close() error { return m.conn.Close() }

func (m *dhcpMux) read() {
	buf := make([]byte, 2048)
	for {
		n, _, err := m.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			m.bad.Add(1)
			continue
		}
		if p.OpCode != dhcpv4.OpcodeBootReply {
			continue // our own broadcasts do not loop back, but be sure
		}
		m.mu.Lock()
		ch := m.waiters[p.TransactionID]
		m.mu.Unlock()
		if ch == nil {
			m.stray.Add(1)
			continue
		}
		select {
		case ch <- p:
		default:
			m.stray.Add(1)
		}
	}
}

// register reserves a fresh transaction ID; release it when the exchange
// is over.
func (m *dhcpMux) register() (dhcpv4.TransactionID, chan *dhcpv4.DHCPv4) {
	ch := make(chan *dhcpv4.DHCPv4, 8)
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		x := rand.Uint32()
		xid := dhcpv4.TransactionID{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}
		if _, used := m.waiters[xid]; !used {
			m.waiters[xid] = ch
			return xid, ch
		}
	}
}

func (m *dhcpMux) release(xid dhcpv4.TransactionID) {
	m.mu.Lock()
	delete(m.waiters, xid)
	m.mu.Unlock()
}

// dhcpBackoff is the wait before each retransmission: PXE 2.1 section
// 2.2.1 (DHCPDISCOVER at 4, 8, 16 and 32 s; RFC 2131 section 4.1 has the
// same doubling), used for the REQUEST too.
var dhcpBackoff = []time.Duration{4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second}

// errNAK is a DHCPNAK to a REQUEST.
var errNAK = errors.New("DHCPNAK")

// exchange broadcasts p and returns the first reply with p's xid whose
// type is in want, retransmitting on dhcpBackoff until ctx ends. A NAK is
// errNAK. retries counts the retransmissions.
func (m *dhcpMux) exchange(ctx context.Context, ch chan *dhcpv4.DHCPv4, p *dhcpv4.DHCPv4, want dhcpv4.MessageType, retries *int) (*dhcpv4.DHCPv4, error) {
	dst := &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ServerPort}
	raw := p.ToBytes()
	for i := 0; ; i++ {
		if _, err := m.conn.WriteTo(raw, dst); err != nil {
			return nil, fmt.Errorf("send %s: %w", p.MessageType(), err)
		}
		t := time.NewTimer(dhcpBackoff[min(i, len(dhcpBackoff)-1)])
	wait:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("no %s after %d retransmissions of the %s: %w", want, i, p.MessageType(), ctx.Err())
			case <-t.C:
				*retries++
				break wait
			case r := <-ch:
				switch r.MessageType() {
				case want:
					t.Stop()
					return r, nil
				case dhcpv4.MessageTypeNak:
					t.Stop()
					return nil, fmt.Errorf("%w to the %s: %q", errNAK, p.MessageType(), r.Message())
				}
			}
		}
	}
}

// lease is what a DORA gave a machine.
type lease struct {
	addr     net.IP
	next     net.IP // TFTP server: siaddr, else option 54
	bootFile string
}

// clientOptions are the options a UEFI x64 client sends: as firmware PXE
// (option 60 PXEClient:Arch:00007:UNDI:003000, 93 = 7, 94, 97) or, with
// ipxe, as the iPXE it loaded (the same plus user class 77 "iPXE" and
// option 175, iPXE's encapsulated options).
func clientOptions(guid []byte, ipxe bool) []dhcpv4.Modifier {
	vc := "PXEClient:Arch:00007:UNDI:003000"
	if ipxe {
		vc = "PXEClient:Arch:00007:UNDI:003010" // iPXE's own
	}
	mods := []dhcpv4.Modifier{
		dhcpv4.WithBroadcast(true),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier(vc)),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)),
		dhcpv4.WithGeneric(dhcpv4.OptionClientNetworkInterfaceIdentifier, []byte{1, 3, 0}),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, guid),
		dhcpv4.WithOption(dhcpv4.OptMaxMessageSize(1472)),
		dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter,
			dhcpv4.OptionDomainNameServer, dhcpv4.OptionDomainName,
			dhcpv4.OptionVendorSpecificInformation, dhcpv4.OptionClassIdentifier,
			dhcpv4.OptionTFTPServerName, dhcpv4.OptionBootfileName),
	}
	if ipxe {
		mods = append(mods,
			dhcpv4.WithUserClass("iPXE", false),
			// iPXE features (HTTP, TFTP, DNS, EFI, menu) and version 1.21.1.
			dhcpv4.WithGeneric(dhcpv4.GenericOptionCode(175),
				[]byte{0x13, 1, 1, 0x15, 1, 1, 0x17, 1, 1, 0x24, 1, 1, 0x27, 1, 1, 0xeb, 3, 1, 21, 1}))
	}
	return mods
}

// maxNAKs bounds how often one DORA starts over after a DHCPNAK.
const maxNAKs = 8

// dora runs DISCOVER-OFFER-REQUEST-ACK for mac and returns the lease. A
// NAK to the REQUEST starts it over from the DISCOVER, as RFC 2131
// section 3.1 (step 5) tells a client to, after a random 0-2 s (RFC 2131
// section 4.1 randomises a client's retransmissions by a second either
// way, so that clients that collided once do not again); naks counts
// those.
func (m *dhcpMux) dora(ctx context.Context, mac net.HardwareAddr, guid []byte, ipxe bool, retries, naks *int) (lease, error) {
	for {
		l, err := m.dora1(ctx, mac, guid, ipxe, retries)
		if !errors.Is(err, errNAK) || *naks >= maxNAKs {
			return l, err
		}
		*naks++
		select {
		case <-ctx.Done():
			return l, fmt.Errorf("%w; then %w", err, ctx.Err())
		case <-time.After(rand.N(2 * time.Second)):
		}
	}
}

func (m *dhcpMux) dora1(ctx context.Context, mac net.HardwareAddr, guid []byte, ipxe bool, retries *int) (lease, error) {
	xid, ch := m.register()
	defer m.release(xid)
	mods := clientOptions(guid, ipxe)
	disc, err := dhcpv4.NewDiscovery(mac, append(mods, dhcpv4.WithTransactionID(xid))...)
	if err != nil {
		return lease{}, err
	}
	offer, err := m.exchange(ctx, ch, disc, dhcpv4.MessageTypeOffer, retries)
	if err != nil {
		return lease{}, err
	}
	req, err := dhcpv4.NewRequestFromOffer(offer, mods...)
	if err != nil {
		return lease{}, err
	}
	ack, err := m.exchange(ctx, ch, req, dhcpv4.MessageTypeAck, retries)
	if err != nil {
		return lease{}, err
	}
	if ack.YourIPAddr.IsUnspecified() {
		return lease{}, errors.New("ACK without an address (yiaddr 0.0.0.0)")
	}
	l := lease{addr: ack.YourIPAddr.To4(), next: ack.ServerIPAddr.To4(), bootFile: ack.BootFileNameOption()}
	if l.bootFile == "" {
		l.bootFile = ack.BootFileName
	}
	if l.next == nil || l.next.IsUnspecified() {
		l.next = ack.ServerIdentifier()
	}
	if l.bootFile == "" {
		return lease{}, fmt.Errorf("ACK for %s without a boot file", l.addr)
	}
	return l, nil
}
