package dhcp6boot

import (
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/hw"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// seedRequests returns the requests kept in testdata/requests/*.hex
// (written by TestReplies with -update).
func seedRequests(t testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "requests", "*.hex"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed requests in testdata/requests (run go test -update): %v", err)
	}
	var out [][]byte
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := hex.DecodeString(strings.ReplaceAll(string(text), "\n", ""))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, b)
	}
	return out
}

// fuzzHosts gives testMAC a boot file and an iPXE script of its own.
func fuzzHosts(mac hw.MAC) dhcpboot.Host {
	if mac != testMAC {
		return dhcpboot.Host{}
	}
	return dhcpboot.Host{Hostname: "lab-01", BootFile: "lab.efi", IPXEScript: "http://[fd42:231::1]:8080/lab.ipxe"}
}

// FuzzPacket feeds arbitrary datagrams through the whole path of a proxy
// and of a full server with two links: parsing (relay envelopes
// included), the decision, leasing and reply building, on port 547 and
// 4011. It runs without the recover that guards the server loop, so any
// panic is found. Every datagram either parses or is an ErrMalformed or
// ErrNoMAC; replies parse back; a proxy reply never carries an address.
func FuzzPacket(f *testing.F) {
	for _, b := range seedRequests(f) {
		f.Add(b)
	}
	servers := []*Server{testServer(dhcpboot.ModeProxy), testServer(dhcpboot.ModeFull)}
	for _, s := range servers {
		s.Hosts = fuzzHosts
		s.init()
	}
	neighbor := func(netip.Addr) (hw.MAC, bool) { return hw.MAC{}, false }
	f.Fuzz(func(t *testing.T, b []byte) {
		req, c, err := Parse(b, testPeer, neighbor)
		if err != nil {
			return
		}
		for _, s := range servers {
			for _, port4011 := range []bool{false, true} {
				r := query{req: req, c: c, port4011: port4011, h: fuzzHosts(c.MAC)}
				if s.Mode == dhcpboot.ModeFull {
					r.n = s.selectSubnet(c, "")
				}
				r.d = Decide(c, r.h, s.Policy, s.serverAddr(r.n))
				res := s.handle(r)
				if res.reply == nil {
					if res.why == "" {
						t.Fatal("no reply and no reason")
					}
					continue
				}
				wire, err := s.wire(r, res.reply)
				if err != nil {
					t.Fatalf("reply not built: %v", err)
				}
				back, err := dhcpv6.FromBytes(wire)
				if err != nil {
					t.Fatalf("reply does not parse back: %v", err)
				}
				if m, _ := back.GetInnerMessage(); s.Mode == dhcpboot.ModeProxy && m != nil && len(m.Options.IANA()) > 0 {
					t.Fatalf("proxy reply carries an address: %s", m.Summary())
				}
			}
		}
	})
}
