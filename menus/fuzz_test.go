package menus

import (
	"bytes"
	"testing"
	"testing/fstest"

	"github.com/bootwright/bootwright/internal/hw"
)

// FuzzLoad feeds arbitrary YAML as a menu and as a machines file: Load
// must return a config or an error, never panic, and a loaded config must
// resolve for any MAC.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(minimalMenu), []byte("machines:\n  - mac: 52:54:00:12:34:56\n    default: local\n"))
	f.Add([]byte("entries:\n  - name: k\n    kernel: \"{{ .Vars.m }}/linux\"\n    needs: [m]\n  - type: assets\n"), []byte("vars: {m: http://x}\n"))
	f.Add([]byte("title: [\n"), []byte("machines: 3\n"))
	f.Fuzz(func(t *testing.T, menu, machines []byte) {
		// Sprig's repeat, until and seq do as much work as they are told;
		// a config is trusted input, so such loops are not a finding.
		for _, slow := range []string{"repeat", "until", "seq"} {
			if bytes.Contains(menu, []byte(slow)) {
				return
			}
		}
		c, err := Load(fstest.MapFS{
			"menus/default.yaml":  {Data: menu},
			"menus/machines.yaml": {Data: machines},
		})
		if err != nil {
			return
		}
		mac := hw.MAC{0x52, 0x54, 0, 0x12, 0x34, 0x56}
		assets := []AssetDir{{Name: "os", Title: "os", Kernel: "vmlinuz", Initrds: []string{"initrd"}}}
		c.Resolve(Request{MAC: mac}, Server{URL: "http://h", AssetsURL: "http://h/assets"}, assets)
	})
}
