// Package route declares the HTTP paths bootwright serves, twice over in
// one place: as chi patterns the router registers, and as builders for
// the URLs that menus, answer files, the installer callback and the
// command line hand out. A path changes here or nowhere.
package route

import (
	"net/url"

	"github.com/bootwright/bootwright/internal/hw"
)

// Patterns, as the router registers them.
const (
	BootScript = "/boot.ipxe"               // the script DHCP hands to iPXE
	Menu       = "/ipxe/{mac}"              // one machine's iPXE menu
	MenuFailed = "/ipxe/{mac}/failed"       // why an entry of that menu did not boot, as an iPXE script
	Files      = "/files/{mac}/*"           // a machine's per-machine (answer) files
	TokenFiles = "/t/{token}/files/{mac}/*" // the same, with a file token
	TFTP       = TFTPBase + "/*"            // the TFTP tree over HTTP (UEFI HTTP Boot)
	Assets     = AssetsBase + "/*"          // the assets directory
	Cache      = CacheBase + "/*"           // the caching proxy
	Health     = "/healthz"
	Metrics    = "/metrics"

	API          = "/api/v1"
	APIMachines  = "/machines"
	APIMachine   = "/machines/{mac}"
	APIEvents    = "/machines/{mac}/events"
	APIStats     = "/stats"
	APIReinstall = "/machines/{mac}/reinstall"
	APIInstalled = "/machines/{mac}/installed"
	StatusPage   = "/"
	StatusRows   = "/status/rows"    // the status page's rows, for its refresh
	StatusCharts = "/status/charts"  // the status page's charts, for their refresh
	MachinePage  = "/machines/{mac}" // one machine's page (HTML)
)

// Folders the router serves files under.
const (
	TFTPBase   = "/tftp"
	AssetsBase = "/assets"
	CacheBase  = "/cache"
)

// URL parameters in the patterns.
const (
	ParamMAC   = "mac"
	ParamToken = "token"
)

// MenuPath is the path of mac's iPXE menu.
func MenuPath(mac hw.MAC) string { return "/ipxe/" + mac.URL() }

// FilePath is the path of mac's per-machine file name, under a file
// token when tok is not empty.
func FilePath(tok string, mac hw.MAC, name string) string {
	p := "/files/" + mac.URL() + "/" + (&url.URL{Path: name}).EscapedPath()
	if tok != "" {
		p = "/t/" + url.PathEscape(tok) + p
	}
	return p
}

// MachinePagePath is the path of mac's page, which the status page
// links each machine to.
func MachinePagePath(mac hw.MAC) string { return "/machines/" + mac.URL() }

// MachineAPIPath is the API path of mac, and of what follows it
// ("/events", "/installed", "/reinstall" or "").
func MachineAPIPath(mac hw.MAC, sub string) string {
	return API + "/machines/" + mac.URL() + sub
}

// InstalledPath is the path an installer calls back when it has finished,
// with its callback token.
func InstalledPath(mac hw.MAC, tok string) string {
	return MachineAPIPath(mac, "/installed") + "?token=" + url.QueryEscape(tok)
}
