package dhcp6boot

import (
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"

	bolt "go.etcd.io/bbolt"
)

func TestParseSubnet(t *testing.T) {
	n, err := ParseSubnet(dhcpboot.SubnetSpec{Prefix6: "2001:db8:30::/64", Range6: " 2001:db8:30::100-2001:db8:30::1ff ",
		DNS6: []string{"2001:db8::53", " "}, Domain: "lab.test", Lease: "30m"})
	if err != nil {
		t.Fatal(err)
	}
	if n.Prefix.String() != "2001:db8:30::/64" || n.Range.String() != "2001:db8:30::100-2001:db8:30::1ff" ||
		len(n.DNS) != 1 || n.Domain != "lab.test" || n.LeaseTime != 30*time.Minute {
		t.Errorf("subnet %+v", n)
	}
	tests := map[string]struct {
		spec  dhcpboot.SubnetSpec
		field dhcpboot.SubnetField
		want  string
	}{
		"no range6":         {dhcpboot.SubnetSpec{Interface: "br0"}, dhcpboot.FieldRange6, "needs a range6"},
		"neither":           {dhcpboot.SubnetSpec{Range6: "fd00::1-fd00::2"}, dhcpboot.FieldPrefix6, "needs an interface"},
		"ipv4 prefix6":      {dhcpboot.SubnetSpec{Prefix6: "10.0.0.0/24", Range6: "fd00::1-fd00::2"}, dhcpboot.FieldPrefix6, `prefix6 "10.0.0.0/24"`},
		"link-local":        {dhcpboot.SubnetSpec{Prefix6: "fe80::/64", Range6: "fe80::1-fe80::2"}, dhcpboot.FieldPrefix6, "prefix6"},
		"ipv4 range":        {dhcpboot.SubnetSpec{Interface: "br0", Range6: "10.0.0.1-10.0.0.2"}, dhcpboot.FieldRange6, "want two IPv6 addresses"},
		"backwards":         {dhcpboot.SubnetSpec{Interface: "br0", Range6: "fd00::9-fd00::2"}, dhcpboot.FieldRange6, "lowest first"},
		"no dash":           {dhcpboot.SubnetSpec{Interface: "br0", Range6: "fd00::9"}, dhcpboot.FieldRange6, "START-END"},
		"outside prefix6":   {dhcpboot.SubnetSpec{Prefix6: "fd00:1::/64", Range6: "fd00::1-fd00::2"}, dhcpboot.FieldRange6, "outside prefix6"},
		"ipv4 dns6":         {dhcpboot.SubnetSpec{Interface: "br0", Range6: "fd00::1-fd00::2", DNS6: []string{"10.0.0.53"}}, dhcpboot.FieldDNS6, "dns6"},
		"short lease":       {dhcpboot.SubnetSpec{Interface: "br0", Range6: "fd00::1-fd00::2", Lease: "5s"}, dhcpboot.FieldLease, "lease"},
		"range with a zone": {dhcpboot.SubnetSpec{Interface: "br0", Range6: "fd00::1%br0-fd00::2"}, dhcpboot.FieldRange6, "lowest first"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSubnet(tc.spec)
			se, ok := errors.AsType[*dhcpboot.SubnetError](err)
			if !ok || se.Field != tc.field || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want field %s and %q", err, tc.field, tc.want)
			}
		})
	}
}

func TestSubnetValidate(t *testing.T) {
	ok := Subnet{Prefix: netip.MustParsePrefix("fd00::/64"), Range: Range{netip.MustParseAddr("fd00::100"), netip.MustParseAddr("fd00::1ff")}}
	if err := ok.Validate(netip.MustParseAddr("fd00::1")); err != nil {
		t.Errorf("good subnet: %v", err)
	}
	if err := ok.Validate(netip.MustParseAddr("fd00::150")); err == nil || !strings.Contains(err.Error(), "our own address") {
		t.Errorf("range holding us: %v", err)
	}
	off := ok
	off.Prefix = netip.MustParsePrefix("fd01::/64")
	if err := off.Validate(netip.Addr{}); err == nil || !strings.Contains(err.Error(), "outside prefix") {
		t.Errorf("range outside: %v", err)
	}
}

// TestLeaseDBDamaged: a damaged DHCPv6 record stops start-up, naming the file.
func TestLeaseDBDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leases.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucketIfNotExists(leaseBucket)
		return b.Put([]byte("short"), []byte{1})
	})
	if _, err := OpenLeaseDB(db, path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("damaged table: %v", err)
	}
	if _, err := OpenLeaseDB(nil, path); err == nil {
		t.Error("no database: no error")
	}
}

// TestRAMessage: the advertisement carries the flags, the router
// lifetime, our MAC and the prefix on-link without autoconfiguration.
func TestRAMessage(t *testing.T) {
	a := &Advertiser{Managed: true, Other: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("fd42:231::1/64"),
		netip.MustParsePrefix("fe80::/64")}, ifi: &net.Interface{HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}}}
	m := a.message()
	if len(m) != 16+8+32 || m[0] != 134 || m[5] != 0xc0 || m[6] != 0x07 || m[7] != 0x08 {
		t.Fatalf("RA header % x", m[:16])
	}
	if m[16] != 1 || m[17] != 1 || m[23] != 1 {
		t.Errorf("source link-layer option % x", m[16:24])
	}
	pi := m[24:]
	if pi[0] != 3 || pi[1] != 4 || pi[2] != 64 || pi[3] != 0x80 || netip.AddrFrom16([16]byte(pi[16:32])) != netip.MustParseAddr("fd42:231::") {
		t.Errorf("prefix option % x", pi)
	}
	a.RouterLifetime = -1
	if m := a.message(); m[6] != 0 || m[7] != 0 {
		t.Errorf("negative lifetime sent % x", m[6:8])
	}
}
