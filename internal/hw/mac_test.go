package hw

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMAC(t *testing.T) {
	want := MAC{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	for in, ok := range map[string]bool{
		"52:54:00:12:34:56": true, "52-54-00-12-34-56": true, "5254.0012.3456": true,
		" 52:54:00:12:34:56\n": true, "52:54:00:12:34:5": false, "52:54:00:12:34:56:78:9a": false,
		"": false, "zz:54:00:12:34:56": false, "525400123456": true,
	} {
		got, err := ParseMAC(in)
		if (err == nil) != ok {
			t.Errorf("ParseMAC(%q) error = %v, want ok %v", in, err, ok)
		}
		if ok && got != want {
			t.Errorf("ParseMAC(%q) = %v, want %v", in, got, want)
		}
	}
	if got, _ := ParseMAC("52:54:00:AB:CD:EF"); got.String() != "52:54:00:ab:cd:ef" {
		t.Errorf("upper case not normalised: %v", got)
	}
}

func TestMACForms(t *testing.T) {
	m := MAC{0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}
	got := []string{m.String(), m.URL(), m.Hex()}
	want := []string{"52:54:00:ab:cd:ef", "52-54-00-ab-cd-ef", "525400abcdef"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("forms (-want +got):\n%s", d)
	}
	if m.IsZero() || !(MAC{}).IsZero() {
		t.Error("IsZero wrong")
	}
	b, _ := json.Marshal(struct{ M MAC }{m})
	if string(b) != `{"M":"52:54:00:ab:cd:ef"}` {
		t.Errorf("json %s", b)
	}
	var back struct{ M MAC }
	if err := json.Unmarshal([]byte(`{"M":"52-54-00-ab-cd-ef"}`), &back); err != nil || back.M != m {
		t.Errorf("unmarshal %v %v", back.M, err)
	}
	if _, ok := MACFrom(m.HardwareAddr()[:5]); ok {
		t.Error("MACFrom took 5 bytes")
	}
}

func TestHexPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"52:54:00": "525400", "52-54-0": "525400"[:5], "5254.00AB.CDEF": "525400abcdef", "52": "52",
		"": "", "zz": "", "52:54:00:12:34:56:78": "",
	} {
		got, err := HexPrefix(in)
		if (err == nil) != (want != "") || got != want {
			t.Errorf("HexPrefix(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	m, err := MACFromHexPrefix("52540")
	if err != nil || m.String() != "52:54:00:00:00:00" {
		t.Errorf("MACFromHexPrefix = %v, %v", m, err)
	}
}

// FuzzParseMAC checks that any accepted MAC round-trips through each of
// the forms bootwright writes.
func FuzzParseMAC(f *testing.F) {
	for _, s := range []string{"52:54:00:12:34:56", "52-54-00-12-34-56", "5254.0012.3456", "", "zz", "02:00:00:00:00:00:00:01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMAC(s)
		if err != nil {
			return
		}
		for _, form := range []string{m.String(), m.URL()} {
			back, err := ParseMAC(form)
			if err != nil || back != m {
				t.Fatalf("round trip of %v through %q: %v %v", m, form, back, err)
			}
		}
		if h, err := HexPrefix(s); err != nil || h != m.Hex() {
			t.Fatalf("HexPrefix(%q) = %q, %v; want %q", s, h, err, m.Hex())
		}
	})
}

func TestMACFromEUI64(t *testing.T) {
	tests := map[string]struct {
		addr string
		want string // "" when none
	}{
		"qemu link-local": {"fe80::5054:ff:fe12:3456", "52:54:00:12:34:56"},
		"global eui-64":   {"2001:db8::211:22ff:fe33:4455", "00:11:22:33:44:55"},
		"local bit set":   {"fe80::ff:fe00:1", "02:00:00:00:00:01"},
		"stable privacy":  {"fe80::8c3a:1f2e:9d4b:7a10", ""},
		"ipv4":            {"10.0.0.1", ""},
		"ipv4-mapped":     {"::ffff:10.0.0.1", ""},
		"zero mac":        {"fe80::200:ff:fe00:0", ""},
		"with zone":       {"fe80::5054:ff:fe12:3456%br0", "52:54:00:12:34:56"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, ok := MACFromEUI64(netip.MustParseAddr(tc.addr))
			got := ""
			if ok {
				got = m.String()
			}
			if got != tc.want {
				t.Errorf("MACFromEUI64(%s) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}
