package main

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/httpboot"
	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

// TestEveryRendererGetsOneRequest renders, for each machine, its iPXE
// menu over HTTP, its pxelinux and GRUB menus over TFTP and its answer
// file (by the URL its menu gives), with templates from
// testdata/requests that print the request data they see on one line.
// The lines must be the same: a renderer that built its request by
// itself (and lost the file token, the callback or the install state, as
// the TFTP menus once did) fails here.
func TestEveryRendererGetsOneRequest(t *testing.T) {
	b, err := bootconfig.Load("testdata/requests")
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(filepath.Join(t.TempDir(), state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Installed(hw.MustParseMAC("52:54:00:00:00:01"), netip.MustParseAddr("10.231.0.5"), true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // the next boot comes after the callback's tokens were revoked
	p := &boot.Policy{Config: bootconfig.NewLive(b), PublicURL: "http://10.231.0.1:8080", Self: netip.MustParseAddr("10.231.0.1"), State: st}
	h := (&httpboot.Server{Boot: p}).Handler()
	var client netip.Addr
	get := func(target string) string {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.RemoteAddr = netip.AddrPortFrom(client, 40000).String()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d %s", target, rec.Code, rec.Body.String())
		}
		return rec.Body.String()
	}
	tftp := func(name string) string {
		out, ok, err := p.TFTP(name, client)
		if !ok || err != nil {
			t.Errorf("TFTP %s: %v %v", name, ok, err)
		}
		return string(out)
	}
	reqLine := regexp.MustCompile(`REQ [^\n]*`)
	fileURL := regexp.MustCompile(`file=(\S+)`)
	for i, m := range []string{"52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03", "02:00:00:00:00:09"} {
		t.Run(m, func(t *testing.T) {
			// Each machine asks from the address DHCP bound to it.
			mac, _ := hw.ParseMAC(m)
			client = netip.AddrFrom4([4]byte{10, 231, 0, byte(10 + i)})
			now := st.Now()
			st.Record(state.Event{MAC: mac, Kind: state.KindDHCP, Outcome: state.OK, IP: client,
				Bind: &state.Binding{Addr: client, Since: now, Until: now.Add(time.Hour), Source: state.BoundByLease}})
			menu := get("/ipxe/" + mac.URL() + "?arch=x86_64&platform=efi")
			file := fileURL.FindStringSubmatch(menu)
			if file == nil {
				t.Fatalf("menu has no file URL:\n%s", menu)
			}
			got := map[string]string{
				"ipxe":     reqLine.FindString(menu),
				"pxelinux": reqLine.FindString(tftp("pxelinux.cfg/01-" + mac.URL())),
				"grub":     reqLine.FindString(tftp("grub/grub.cfg-01-" + mac.URL())),
				"file":     reqLine.FindString(get(strings.TrimPrefix(file[1], p.URL()))),
			}
			// The installer fetches by the same URL from a new address
			// (its own DHCP): the token's boot decides, not the address.
			bound := client
			client = netip.AddrFrom4([4]byte{10, 231, 9, byte(10 + i)})
			if line := reqLine.FindString(get(strings.TrimPrefix(file[1], p.URL()))); !strings.Contains(file[1], "/t/") {
				// file_access: open, no token: nothing to compare
			} else {
				got["file from elsewhere"] = strings.Replace(line, "ip="+client.String(), "ip="+bound.String(), 1)
			}
			client = bound
			want := map[string]string{}
			for path := range got {
				want[path] = got["ipxe"]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request data differs between renderers (-as the iPXE menu saw it +as each path did):\n%s", diff)
			}
			if mac == (hw.MAC{0x52, 0x54, 0, 0, 0, 1}) && !strings.Contains(got["ipxe"], "state=installed") {
				t.Errorf("install state missing: %s", got["ipxe"])
			}
			open := mac == (hw.MAC{0x52, 0x54, 0, 0, 0, 3}) // file_access: open needs no token
			if !open && (!strings.Contains(got["ipxe"], "/t/") || !strings.Contains(got["ipxe"], "callback=http://10.231.0.1:8080/api/v1/machines/"+mac.URL()+"/installed?token=")) {
				t.Errorf("token or callback missing: %s", got["ipxe"])
			}
		})
	}
}
