package answers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKind(t *testing.T) {
	tests := map[string]struct {
		name, content, want string
	}{
		"kickstart by extension":     {"kickstart.ks", "text\n", KindKickstart},
		"kickstart in a cfg":         {"ks.cfg", "# ks\ntext\nreboot\n%packages\n@core\n%end\n", KindKickstart},
		"preseed by header":          {"preseed.cfg", "#_preseed_V1\n", KindPreseed},
		"preseed by content":         {"site.cfg", "# x\nd-i netcfg/get_hostname string a\nd-i time/zone string UTC\n", KindPreseed},
		"preseed extension":          {"x.preseed", "", KindPreseed},
		"pxelinux cfg":               {"menu.cfg", "DEFAULT linux\nLABEL linux\n", ""},
		"user-data":                  {"autoinstall/user-data", "#cloud-config\n", KindCloudConfig},
		"user-data without header":   {"user-data", "autoinstall: {}\n", KindCloudConfig},
		"user-data script":           {"user-data", "#!/bin/sh\necho hi\n", ""},
		"user-data mime":             {"ci/user-data", "Content-Type: multipart/mixed\n", ""},
		"meta-data":                  {"autoinstall/meta-data", "instance-id: a\n", KindMetaData},
		"network-config":             {"network-config", "version: 2\n", KindYAML},
		"cloud-config yaml":          {"web.yaml", "#cloud-config\n", KindCloudConfig},
		"plain yaml":                 {"ignition.yml", "variant: fcos\n", KindYAML},
		"autounattend":               {"autounattend.xml", "<x/>", KindUnattend},
		"unattend by name":           {"win/Unattend.xml", "<x/>", KindUnattend},
		"unattend by root":           {"setup.xml", `<?xml version="1.0"?><unattend xmlns="urn:schemas-microsoft-com:unattend"/>`, KindUnattend},
		"other xml":                  {"pom.xml", "<project/>", KindXML},
		"ipxe script is not checked": {"tools.ipxe", "#!ipxe\n", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Kind(tc.name, []byte(tc.content)); got != tc.want {
				t.Errorf("Kind(%q) = %q, want %q", tc.name, got, tc.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	const unattendOK = `<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend">
  <settings pass="specialize">
    <component name="Microsoft-Windows-Shell-Setup"><ComputerName>a&amp;b</ComputerName></component>
  </settings>
</unattend>
`
	tests := map[string]struct {
		kind, content string
		want          []Problem
	}{
		// kickstart
		"kickstart ok":                        {KindKickstart, "# c\ntext\nnetwork --bootproto=dhcp --hostname='a b'\nrootpw --iscrypted '$6$x'\\''y' # hash\n%include /tmp/x.ks\n\n%pre --interpreter=/bin/sh\necho '%post' \"$x\nexit 0\n%end\n%packages\n@^minimal-environment\n-iwl*\n%end\n%post --nochroot --log=/mnt/sysimage/root/post.log\ntrue\n%end\n", nil},
		"kickstart unknown command":           {KindKickstart, "text\nrebot\n", []Problem{{2, `unknown kickstart command "rebot"`}}},
		"kickstart unclosed section":          {KindKickstart, "text\n%post\necho hi\n", []Problem{{2, "%post section is not closed by %end"}}},
		"kickstart section inside section":    {KindKickstart, "%pre\nx\n%packages\n@core\n%end\n", []Problem{{1, "%pre section is not closed by %end before %packages on line 3"}}},
		"kickstart stray end":                 {KindKickstart, "text\n%end\n", []Problem{{2, "%end without an open section"}}},
		"kickstart unknown section":           {KindKickstart, "%postt\n%end\n", []Problem{{1, "unknown section %postt"}, {2, "%end without an open section"}}},
		"kickstart include without file":      {KindKickstart, "%include\n", []Problem{{1, "%include needs a file or URL"}}},
		"kickstart unterminated quote":        {KindKickstart, "text\nuser --name='admin --lock\n", []Problem{{2, "user: unterminated ' quote"}}},
		"kickstart unterminated double quote": {KindKickstart, "sshkey --username=a \"ssh-ed25519 \\\"\n", []Problem{{1, `sshkey: unterminated " quote`}}},
		"kickstart trailing backslash":        {KindKickstart, "lang en_US \\\n", []Problem{{1, "lang: line ends with a backslash"}}},
		// preseed
		"preseed ok":                            {KindPreseed, "#_preseed_V1\n\n  # indented comment\nd-i mirror/http/proxy string\nd-i netcfg/get_hostname string a b c\nd-i partman/confirm boolean true\nd-i preseed/late_command string \\\n  echo a; \\\n  echo b\nd-i netcfg/get_hostname seen false\ntasksel tasksel/first multiselect standard, ssh-server\n", nil},
		"preseed missing type":                  {KindPreseed, "d-i netcfg/get_hostname\n", []Problem{{1, `want OWNER QUESTION TYPE VALUE, got "d-i netcfg/get_hostname"`}}},
		"preseed unknown type":                  {KindPreseed, "\nd-i time/zone strng UTC\n", []Problem{{2, `time/zone: unknown type "strng" (want string, boolean, select, multiselect, note, text, password, error or title)`}}},
		"preseed bad boolean":                   {KindPreseed, "d-i a/b boolean yes\n", []Problem{{1, `a/b: boolean value must be true or false, not "yes"`}}},
		"preseed empty boolean":                 {KindPreseed, "d-i a/b boolean\n", []Problem{{1, `a/b: boolean value must be true or false, not ""`}}},
		"preseed question without slash":        {KindPreseed, "d-i hostname string a\n", []Problem{{1, `question "hostname" has no '/' (want e.g. d-i netcfg/get_hostname string NAME)`}}},
		"preseed continuation keeps first line": {KindPreseed, "d-i a/b string x \\\ny\nd-i c/d boolean \\\nmaybe\n", []Problem{{3, `c/d: boolean value must be true or false, not "maybe"`}}},
		"preseed continuation at end":           {KindPreseed, "d-i a/b string x \\", []Problem{{1, "the last line ends with a backslash (a continuation with nothing after it)"}}},
		// cloud-config
		"user-data ok":                    {KindCloudConfig, "#cloud-config\nautoinstall:\n  version: 1\n  identity: {hostname: a, username: b, password: '!'}\n", nil},
		"user-data jinja header":          {KindCloudConfig, "## template: jinja\n#cloud-config\nhostname: a\n", nil},
		"user-data empty cloud-config":    {KindCloudConfig, "#cloud-config\n", nil},
		"user-data no header":             {KindCloudConfig, "hostname: a\n", []Problem{{1, "user-data must begin with #cloud-config"}}},
		"user-data bad yaml":              {KindCloudConfig, "#cloud-config\na: b\n  c: d\n", []Problem{{3, "YAML: mapping values are not allowed in this context"}}},
		"user-data not a mapping":         {KindCloudConfig, "#cloud-config\n- a\n", []Problem{{2, "cloud-config must be a mapping of keys"}}},
		"user-data two documents":         {KindCloudConfig, "#cloud-config\na: 1\n---\nb: 2\n", []Problem{{3, "a second YAML document (---); only one is read"}}},
		"autoinstall no version":          {KindCloudConfig, "#cloud-config\nautoinstall:\n  locale: C\n", []Problem{{2, "autoinstall has no version (want version: 1)"}}},
		"autoinstall version 2":           {KindCloudConfig, "#cloud-config\nautoinstall:\n  version: 2\n", []Problem{{3, "autoinstall version must be 1, not 2"}}},
		"autoinstall version string":      {KindCloudConfig, "#cloud-config\nautoinstall:\n  version: \"1\"\n", []Problem{{3, "autoinstall version must be 1, not 1"}}},
		"autoinstall typo":                {KindCloudConfig, "#cloud-config\nautoinstall:\n  version: 1\n  late-command: []\n", []Problem{{4, `unknown autoinstall key "late-command"`}}},
		"autoinstall identity incomplete": {KindCloudConfig, "#cloud-config\nautoinstall:\n  version: 1\n  identity:\n    hostname: a\n", []Problem{{4, "autoinstall identity has no username"}, {4, "autoinstall identity has no password"}}},
		"autoinstall not a mapping":       {KindCloudConfig, "#cloud-config\nautoinstall: 1\n", []Problem{{2, "autoinstall must be a mapping"}}},
		// meta-data
		"meta-data ok":                {KindMetaData, "instance-id: i-1\nlocal-hostname: a\n", nil},
		"meta-data json":              {KindMetaData, `{"instance-id": "i-1"}`, nil},
		"meta-data no instance-id":    {KindMetaData, "local-hostname: a\n", []Problem{{0, "meta-data has no instance-id"}}},
		"meta-data empty instance-id": {KindMetaData, "instance-id: ''\n", []Problem{{1, "instance-id must be a non-empty string"}}},
		"meta-data empty":             {KindMetaData, "", []Problem{{0, "meta-data is empty (want at least instance-id)"}}},
		"meta-data list":              {KindMetaData, "- a\n", []Problem{{1, "meta-data must be a mapping of keys"}}},
		// yaml
		"yaml ok":  {KindYAML, "a: [1, 2]\n", nil},
		"yaml tab": {KindYAML, "a:\n\tb: 1\n", []Problem{{2, "YAML: found character that cannot start any token"}}},
		// xml and unattend
		"unattend ok":           {KindUnattend, unattendOK, nil},
		"unattend wrong root":   {KindUnattend, "<?xml version=\"1.0\"?>\n<unattended xmlns=\"urn:schemas-microsoft-com:unattend\"/>\n", []Problem{{2, `root element is <unattended> in namespace "urn:schemas-microsoft-com:unattend", want <unattend> in "urn:schemas-microsoft-com:unattend"`}}},
		"unattend no namespace": {KindUnattend, "<unattend/>", []Problem{{1, `root element is <unattend> in namespace "", want <unattend> in "urn:schemas-microsoft-com:unattend"`}}},
		"unattend bad pass":     {KindUnattend, "<unattend xmlns=\"urn:schemas-microsoft-com:unattend\">\n<settings pass=\"oobe\"/>\n</unattend>", []Problem{{2, `settings pass "oobe" is not one of windowsPE, offlineServicing, generalize, specialize, auditSystem, auditUser, oobeSystem`}}},
		"xml mismatched tag":    {KindXML, "<a>\n<b>\n</a>\n", []Problem{{3, "XML: element <b> closed by </a>"}}},
		"xml unclosed":          {KindXML, "<a>\n<b/>\n", []Problem{{3, "XML: unexpected EOF"}}},
		"xml bare ampersand":    {KindXML, "<a>\nx & y</a>", []Problem{{2, "XML: invalid character entity & (no semicolon)"}}},
		"xml two roots":         {KindXML, "<a/>\n<b/>\n", []Problem{{2, "a second root element <b>"}}},
		"xml text outside":      {KindXML, "<a/>\ntext\n", []Problem{{3, "text outside the root element"}}},
		"xml empty":             {KindXML, "", []Problem{{0, "no root element"}}},
		"xml utf-16":            {KindXML, "<?xml version=\"1.0\" encoding=\"utf-16\"?>\n<a/>", []Problem{{1, `XML: opening charset "utf-16": only UTF-8 is supported`}}},
		// anything else
		"unknown kind": {"", "whatever", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Check(tc.kind, []byte(tc.content))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Check(%s) (-want +got):\n%s", tc.kind, diff)
			}
		})
	}
}
