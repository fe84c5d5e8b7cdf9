package menus

import (
	"fmt"
	"strings"
)

// Two loaders load files over TFTP only. With Secure Boot enforced,
// Debian's signed GRUB loads no module from disk or network (its
// shim_lock verifier refuses them), and its network image has TFTP built
// in but not HTTP. A Raspberry Pi's firmware has no HTTP client at all.
// So a Secure Boot machine's GRUB menu, and a Pi's config.txt, can load
// this server's assets, which it also serves over TFTP under assets/, or
// (GRUB only) tftp:// URLs elsewhere.

// TFTPOnly reports whether the machine's boot loader loads kernels and
// initrds over TFTP only: GRUB under secure_boot, or loader raspberrypi.
func (d *Data) TFTPOnly() bool { return d.SecureBoot || d.Loader == LoaderRaspberryPi }

// BootURL returns the URL a boot loader should load u from: for a
// machine whose loader loads over TFTP only (TFTPOnly), a URL of a file
// in this server's assets directory becomes the same file over TFTP
// (Server.TFTPAssetsURL); any other URL, and every URL for other
// machines, is returned unchanged. The GRUB template uses it as
// {{ grubpath ($.BootURL .Kernel) }}.
func (d *Data) BootURL(u string) string {
	if !d.TFTPOnly() || d.Server.TFTPAssetsURL == "" || d.Server.AssetsURL == "" {
		return u
	}
	if rest, ok := strings.CutPrefix(u, d.Server.AssetsURL+"/"); ok {
		return d.Server.TFTPAssetsURL + "/" + rest
	}
	return u
}

// SecureBootProblems lists what a Secure Boot machine's GRUB cannot load:
// each kernel, initrd or chain target of its menu (submenus included) that
// BootURL leaves on a scheme other than tftp://. It returns nil for a
// machine without secure_boot.
func (d *Data) SecureBootProblems() []string {
	if !d.SecureBoot {
		return nil
	}
	return d.secureBootProblems(&d.Menu, nil)
}

func (d *Data) secureBootProblems(m *MenuData, out []string) []string {
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Submenu != nil {
			out = d.secureBootProblems(e.Submenu, out)
			continue
		}
		urls := []string{e.Kernel, e.URL}
		for _, in := range e.Initrds {
			urls = append(urls, in.URL)
		}
		for _, u := range urls {
			if u == "" || strings.HasPrefix(d.BootURL(u), "tftp://") {
				continue
			}
			out = append(out, fmt.Sprintf("%s/%s.yaml: entry %q: with secure_boot GRUB loads no http module and cannot fetch %s; put the file under --assets-dir (served over TFTP too) or give it a tftp:// URL",
				Dir, m.Name, e.Name, u))
		}
	}
	return out
}
