package dhcpboot

import (
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// FuzzPacket feeds arbitrary datagrams through parsing, the decision and
// reply building in both modes, without the recover that guards the server
// loop, so any panic is found.
func FuzzPacket(f *testing.F) {
	for _, kind := range [][]dhcpv4.Modifier{biosFirmware, uefiFirmware, uefiHTTP, ipxeBIOS, ipxeOpt175Only, plainClient} {
		for _, mt := range []dhcpv4.MessageType{dhcpv4.MessageTypeDiscover, dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeInform, dhcpv4.MessageTypeRelease} {
			f.Add(request(f, mt, kind).ToBytes())
		}
	}
	servers := []*Server{
		{Mode: ModeProxy, Address: testSelf, Policy: testPolicy()},
		{Mode: ModeFull, Address: testSelf, Policy: testPolicy(), Network: testNetwork()},
	}
	for _, s := range servers {
		s.init()
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := dhcpv4.FromBytes(b)
		if err != nil {
			return
		}
		c, err := ParseClient(req)
		if err != nil {
			return
		}
		d := Decide(c, testPolicy())
		for _, s := range servers {
			for _, port4011 := range []bool{false, true} {
				reply, err := s.handle(req, c, d, port4011)
				if reply == nil {
					if err == nil {
						t.Fatal("no reply and no reason")
					}
					continue
				}
				if _, err := dhcpv4.FromBytes(reply.ToBytes()); err != nil {
					t.Fatalf("reply does not parse back: %v", err)
				}
				if s.Mode == ModeProxy && !reply.YourIPAddr.IsUnspecified() {
					t.Fatalf("proxy reply carries an address: %v", reply.YourIPAddr)
				}
			}
		}
	})
}
