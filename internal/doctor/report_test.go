package doctor

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/golden"
	"github.com/bootwright/bootwright/internal/hw"
)

// TestReportGolden renders the reports of the table's main cases as
// text and JSON (go test -update rewrites testdata/).
func TestReportGolden(t *testing.T) {
	base := func(f Facts) Facts {
		f.Interface, f.MAC, f.Arch, f.Wait = "eth0", "52:54:00:00:00:01", hw.ArchBIOS, 5*time.Second
		return f
	}
	tests := map[string]Facts{
		"boots": booting(func(f *Facts) { f.Assigned = "10.0.0.100/24" }),
		"e51":   base(Facts{}),
		"e53":   base(Facts{Offers: []Offer{lanOffer}, Request: ack, IPXESent: true, IPXEOffers: []Offer{lanOffer}}),
		"e55": proxied(func(f *Facts) {
			f.BootServer = &Exchange{To: netAddrPort("10.0.0.2:4011"), Wait: 5 * time.Second}
		}),
		"e3b": booting(func(f *Facts) {
			f.NBP = &Fetch{URL: nbpOK.URL, TSize: -1, Err: "code: 1, message: file not found", TFTPCode: 1, TFTPMsg: "file not found"}
		}),
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			r := NewReport(base(f))
			var text, js strings.Builder
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, "testdata/"+name+".txt", text.String())
			if err := r.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var back map[string]any
			if err := json.Unmarshal([]byte(js.String()), &back); err != nil || back["ok"] != r.OK {
				t.Errorf("JSON does not round-trip: %v, ok=%v", err, back["ok"])
			}
			golden.Assert(t, "testdata/"+name+".json", js.String())
		})
	}
}

func netAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
