package answers

import (
	"bytes"
	"testing"
)

// FuzzCheck runs Kind and every checker on arbitrary input: no panics,
// and every problem's line lies inside the file.
func FuzzCheck(f *testing.F) {
	f.Add("kickstart.ks", []byte("text\n%post\necho 'x\n%end\n"))
	f.Add("preseed.cfg", []byte("#_preseed_V1\nd-i a/b boolean true \\\n"))
	f.Add("autoinstall/user-data", []byte("#cloud-config\nautoinstall:\n  version: 1\n  identity: {}\n"))
	f.Add("autoinstall/meta-data", []byte("instance-id: a\n"))
	f.Add("autounattend.xml", []byte(`<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="x"/></unattend>`))
	f.Add("x.cfg", []byte("d-i\n%packages\n"))
	kinds := []string{KindKickstart, KindPreseed, KindCloudConfig, KindMetaData, KindYAML, KindUnattend, KindXML}
	f.Fuzz(func(t *testing.T, name string, content []byte) {
		// YAML also breaks lines at a lone "\r"; count both as an upper bound.
		n := bytes.Count(content, []byte("\n")) + bytes.Count(content, []byte("\r")) + 1
		_ = Kind(name, content)
		for _, k := range kinds {
			for _, p := range Check(k, content) {
				if p.Line < 0 || p.Line > n {
					t.Fatalf("%s: problem %v outside the file's %d lines", k, p, n)
				}
				if p.Msg == "" {
					t.Fatalf("%s: problem without a message at line %d", k, p.Line)
				}
			}
		}
	})
}
