package boot

import (
	"log/slog"
	"net/netip"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/menus"
	"github.com/bootwright/bootwright/tftpboot"
)

// loader is what bootwright needs to boot a machine through one of the
// classic loaders.
type loader struct {
	// firmware is the boot file firmware PXE of arch a is offered, ""
	// for an arch the loader does not run on.
	firmware func(a hw.Arch) string
	template string // the chain script's template
	// files are the TFTP files it needs, by arch family (hw.ArchUnknown
	// for a loader of no UEFI or BIOS arch), checked at start-up.
	files map[hw.Arch][]string
}

// loaders are the classic loaders by name (menus.Loader*); loaderShim is
// the Secure Boot chain, set with secure_boot rather than loader.
var loaders = map[string]loader{
	menus.LoaderPXELinux: {firmware: biosOnly(tftpboot.LPXELinux), template: bootconfig.ChainPXELinux,
		files: map[hw.Arch][]string{hw.ArchBIOS: {tftpboot.LPXELinux, tftpboot.PXELinux, "ldlinux.c32", "menu.c32", "libutil.c32", "libcom32.c32"}}},
	menus.LoaderGRUB: {firmware: hw.Arch.GRUB, template: bootconfig.ChainGRUB, files: map[hw.Arch][]string{
		hw.ArchEFIx64:   {hw.ArchEFIx64.GRUB(), "grub/x86_64-efi/http.mod"},
		hw.ArchEFIARM64: {hw.ArchEFIARM64.GRUB(), "grub/arm64-efi/http.mod"}}},
	// Under Secure Boot GRUB loads no module: no http.mod.
	loaderShim: {firmware: hw.Arch.Shim, files: map[hw.Arch][]string{
		hw.ArchEFIx64:   {hw.ArchEFIx64.Shim(), hw.ArchEFIx64.GRUB()},
		hw.ArchEFIARM64: {hw.ArchEFIARM64.Shim(), hw.ArchEFIARM64.GRUB()}}},
	// A Pi 4's firmware and device tree (a Pi 5 needs only its own
	// device tree, bcm2712-rpi-5-b.dtb); DHCP offers no file (dhcp.go).
	menus.LoaderRaspberryPi: {firmware: func(hw.Arch) string { return "" },
		files: map[hw.Arch][]string{hw.ArchUnknown: {"start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb"}}},
}

const loaderShim = "shim"

// biosOnly offers name to legacy BIOS firmware only.
func biosOnly(name string) func(hw.Arch) string {
	return func(a hw.Arch) string {
		if a.Firmware() == hw.FirmwareBIOS {
			return name
		}
		return ""
	}
}

// archFiles are a loader's boot files for every arch whose firmware PXE
// can run it (UEFI HTTP Boot arches cannot: they get http:// URLs).
func (l loader) archFiles() map[hw.Arch]string {
	m := map[hw.Arch]string{}
	for _, a := range hw.Arches() {
		if f := l.firmware(a); f != "" && !a.IsHTTP() {
			m[a] = f
		}
	}
	return m
}

// chainDir is the TFTP folder of the chain scripts.
const chainDir = "bootwright/"

// ChainScriptName is the TFTP name of the iPXE script that chains the
// loader called name ("pxelinux" or "grub").
func ChainScriptName(name string) string { return chainDir + name + ".ipxe" }

// chainScript renders the chain script of the loader called name, for
// a client at peer: for each iPXE ${buildarch} it runs on, the file to
// chain and its package.
func (p *Policy) chainScript(name string, peer netip.Addr) ([]byte, error) {
	c := bootconfig.Chain{Server: p.serverFor(loaders[name].template, peer), TFTP: p.tftpURL(peer), Address: p.tftpHost(peer),
		Fallback: p.IPXEScriptURLFor(peer), Files: map[string]bootconfig.ChainFile{}}
	file := func(name string) bootconfig.ChainFile {
		lf, _ := tftpboot.Loaders{}.Lookup(name)
		return bootconfig.ChainFile{Name: name, Package: lf.Package}
	}
	if name == menus.LoaderPXELinux {
		// From iPXE, PXELINUX without its own TCP stack (see dhcp.go).
		c.Files["i386"] = file(tftpboot.PXELinux)
	} else {
		for _, a := range hw.Families() {
			if g := a.GRUB(); g != "" {
				buildarch, _ := a.IPXE()
				c.Files[buildarch] = file(g)
			}
		}
	}
	return p.Config.Load().RenderChain(loaders[name].template, c)
}

// Warn logs, at start-up, what would keep the loaders the config asks
// for from working: loader files missing from l (naming the Debian
// package), TFTP switched off, Secure Boot in proxy mode, Raspberry Pis
// without assets over TFTP, and groups that set a loader but select by
// arch or subnet, which DHCP cannot see.
func (p *Policy) Warn(l tftpboot.Loaders, tftpOn bool, log *slog.Logger) {
	b := p.Config.Load()
	used := map[string]string{} // loader -> who uses it first
	use := func(s *menus.Settings, who string) bool {
		u := false
		if s.Loader != "" && s.Loader != menus.LoaderIPXE {
			used[s.Loader], u = who, true
		}
		if s.SecureBoot != nil && *s.SecureBoot {
			used[loaderShim], u = who, true
		}
		return u
	}
	for _, m := range b.Menus.MachineList() {
		use(&m.Settings, "machine "+m.Name)
	}
	for _, g := range b.Menus.Groups {
		if use(&g.Settings, "group "+g.Name) && (len(g.Match.Arch) > 0 || g.Match.Subnet != nil) {
			log.Warn("loader: group selects by arch or subnet, which DHCP does not know when it picks the boot file; its machines keep iPXE unless they set loader or secure_boot themselves",
				"group", g.Name, "loader", g.Loader, "secure_boot", g.SecureBoot != nil && *g.SecureBoot)
		}
	}
	if who, ok := used[loaderShim]; ok && p.Proxy {
		log.Warn("loader: Secure Boot in proxy mode: Debian's GRUB looks for grub/grub.cfg on the next-server of the LAN's DHCPACK, so it boots only if the LAN's DHCP server names this host as next-server (dnsmasq: dhcp-boot=,,ADDRESS); full mode has no such limit",
			"used_by", who)
	}
	if who, ok := used[menus.LoaderRaspberryPi]; ok && !p.TFTPAssets {
		log.Warn("loader: a Raspberry Pi loads its kernel and initrds over TFTP from --assets-dir, which is not served over TFTP here (set --assets-dir and keep TFTP on)",
			"used_by", who)
	}
	for name, who := range used {
		if !tftpOn {
			log.Warn("loader: needs TFTP, which is off (--tftp-addr off)", "loader", name, "used_by", who)
		}
		for a, files := range loaders[name].files {
			warnMissing(log.With("loader", name, "used_by", who), a, files, l.Missing(files...))
		}
	}
}

// warnMissing logs the files of one arch's build of a loader that are
// missing: each as a warning, except when a whole build for an arch other
// than x86 is absent (an amd64 server without Debian's arm64 packages,
// for a lab without ARM64 machines), which is one line of information.
func warnMissing(log *slog.Logger, a hw.Arch, files []string, missing []error) {
	if len(missing) == 0 {
		return
	}
	if cpu, _ := a.IPXE(); a.Known() && cpu != "i386" && cpu != "x86_64" && len(missing) == len(files) {
		log.Info("loader: no "+a.String()+" build installed; "+a.String()+" machines using it will not boot", "files", files)
		return
	}
	if a.Known() {
		log = log.With("arch", a.String())
	}
	for _, err := range missing {
		log.Warn("loader: file missing; machines using it will not boot", "err", err)
	}
}
