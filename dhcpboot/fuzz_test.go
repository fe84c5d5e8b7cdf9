package dhcpboot

import (
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// seedRequests returns the request packets kept in testdata/requests/*.hex
// (written by TestReplies with -update).
func seedRequests(t testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "requests", "*.hex"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed requests in testdata/requests (run go test -update): %v", err)
	}
	var out [][]byte
	for _, f := range files {
		out = append(out, readHex(t, f))
	}
	return out
}

// readHex reads a packet kept as hex lines, skipping lines that start
// with "#" (where it came from).
func readHex(t testing.TB, file string) []byte {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, line := range strings.Split(string(text), "\n") {
		if !strings.HasPrefix(line, "#") {
			sb.WriteString(strings.TrimSpace(line))
		}
	}
	b, err := hex.DecodeString(sb.String())
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return b
}

// fuzzHosts is a machines file with one reserved, named machine that has
// its own boot file and iPXE script.
func fuzzHosts(mac hw.MAC) Host {
	if mac != testMAC {
		return Host{}
	}
	return Host{IP: netip.MustParseAddr("10.231.0.20"), Hostname: "lab-01",
		BootFile: "lab.efi", IPXEScript: "http://10.231.0.1:8080/lab.ipxe"}
}

// FuzzPacket feeds arbitrary datagrams through the whole packet path of a
// proxy server and of a full server with two subnets, reservations and a
// filter: parsing, admission, the decision, leasing and reply building.
// It runs without the recover that guards the server loop, so any panic
// is found. Replies must parse back, and a proxy reply never carries an
// address.
func FuzzPacket(f *testing.F) {
	for _, b := range seedRequests(f) {
		f.Add(b)
	}
	for _, kind := range [][]dhcpv4.Modifier{biosFirmware, uefiFirmware, uefiHTTP, ipxeBIOS, ipxeOpt175Only, plainClient} {
		for _, mt := range []dhcpv4.MessageType{dhcpv4.MessageTypeDiscover, dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeInform, dhcpv4.MessageTypeRelease, dhcpv4.MessageTypeDecline} {
			f.Add(request(f, mt, kind).ToBytes())
		}
	}
	deny := Filter{Deny: Match{VendorClasses: []string{"android"}}}
	servers := []*Server{
		{Mode: ModeProxy, Address: testSelf, Policy: testPolicy(), Filter: deny},
		{Mode: ModeFull, Address: testSelf, Policy: testPolicy(), Subnets: testSubnets(), Hosts: fuzzHosts, Filter: deny},
	}
	for _, s := range servers {
		s.init()
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, c, err := parsePacket(b)
		if err != nil {
			return
		}
		if ok, _ := deny.Admit(c); !ok {
			return
		}
		for _, s := range servers {
			for _, port4011 := range []bool{false, true} {
				r := query{req: req, c: c, port4011: port4011}
				r.h = fuzzHosts(c.MAC)
				r.d = Decide(c, r.h, s.Policy)
				res := s.handle(r)
				if res.reply == nil {
					if res.why == "" {
						t.Fatal("no reply and no reason")
					}
					continue
				}
				if _, err := dhcpv4.FromBytes(res.reply.ToBytes()); err != nil {
					t.Fatalf("reply does not parse back: %v", err)
				}
				if s.Mode == ModeProxy && !res.reply.YourIPAddr.IsUnspecified() {
					t.Fatalf("proxy reply carries an address: %v", res.reply.YourIPAddr)
				}
			}
		}
	})
}
