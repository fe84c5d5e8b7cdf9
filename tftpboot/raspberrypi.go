package tftpboot

import (
	"cmp"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bootwright/bootwright/internal/hw"
)

// A Raspberry Pi 4 or 5 booting from the network (its EEPROM bootloader;
// the Pi 3's ROM does the same) reads every file over TFTP under a
// per-board prefix: by default its serial number as 8 hex digits
// ("9ffefdef/start4.elf"), with the bootloader's TFTP_PREFIX=2 its MAC
// ("dc-a6-32-01-36-c2/start4.elf"). When the firmware (start4.elf or
// start.elf) is not found under the prefix it drops the prefix and asks
// again at the root. It then reads config.txt, cmdline.txt, the device
// tree and the kernel and initrds config.txt names, all under the prefix
// it settled on.

// Names of the Raspberry Pi boot files bootwright renders.
const (
	PiConfig  = "config.txt"
	PiCmdline = "cmdline.txt"
)

// SplitPiPrefix splits a Raspberry Pi's per-board prefix from a cleaned
// TFTP name: "9ffefdef/config.txt" gives "config.txt" and no MAC,
// "dc-a6-32-01-36-c2/config.txt" gives "config.txt" and that MAC. ok is
// false for a name without such a prefix.
func SplitPiPrefix(name string) (rest string, mac hw.MAC, ok bool) {
	first, rest, found := strings.Cut(name, "/")
	if !found || rest == "" {
		return "", hw.MAC{}, false
	}
	if m, ok := parseMAC(first, "-"); ok {
		return rest, m, true
	}
	if len(first) == 8 && isHex(first) {
		return rest, hw.MAC{}, true
	}
	return "", hw.MAC{}, false
}

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// IsPiFirmware reports whether name (without prefix) is the firmware a
// Raspberry Pi loads first: bootcode.bin (Pi 3), start*.elf, fixup*.dat.
func IsPiFirmware(name string) bool {
	return name == "bootcode.bin" || plainName(name, ".elf") && strings.HasPrefix(name, "start") ||
		plainName(name, ".dat") && strings.HasPrefix(name, "fixup")
}

// PiFiles serves fsys to Raspberry Pis: a name under a per-board prefix
// (SplitPiPrefix) that fsys does not have is looked up without the
// prefix, so one tree serves every Pi, while an operator's own
// <serial>/ folder in --tftp-root still wins for its board.
func PiFiles(fsys fs.FS) fs.FS { return piFiles{fsys} }

type piFiles struct{ fs.FS }

func (p piFiles) Open(name string) (fs.File, error) {
	f, err := p.FS.Open(name)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	if rest, _, ok := SplitPiPrefix(name); ok {
		if f, err2 := p.FS.Open(rest); err2 == nil || !errors.Is(err2, fs.ErrNotExist) {
			return f, err2
		}
	}
	return nil, err
}

// Where Debian puts the Raspberry Pi files: the firmware and overlays
// from raspi-firmware (non-free-firmware), the device trees from the
// arm64 kernel package (linux-image-arm64, installed with multiarch),
// under a folder named for the kernel version; the newest is used.
const (
	piFirmwareDir = "/usr/lib/raspi-firmware"
	piDTBGlob     = "/usr/lib/linux-image-*/broadcom"
)

// piLookup returns the Debian file behind a Raspberry Pi name: firmware,
// overlays/*.dtbo (and overlays/README, which the firmware looks for) and
// bcm27xx device trees.
func piLookup(name string) (LoaderFile, bool) {
	switch {
	case IsPiFirmware(name):
		return LoaderFile{Name: name, Path: piFirmwareDir + "/" + name, Package: "raspi-firmware"}, true
	case name == "overlays/README" || strings.HasPrefix(name, "overlays/") && plainName(name[len("overlays/"):], ".dtbo"):
		return LoaderFile{Name: name, Path: piFirmwareDir + "/" + name, Package: "raspi-firmware"}, true
	case plainName(name, ".dtb") && strings.HasPrefix(name, "bcm27"):
		return LoaderFile{Name: name, Path: newestDir(piDTBGlob) + "/" + name, Package: "linux-image-arm64 (arm64)"}, true
	}
	return LoaderFile{}, false
}

// newestDir returns the match of pattern with the highest version in
// its name (6.12.9 after 6.1.0), or pattern itself when none matches.
func newestDir(pattern string) string {
	dirs, _ := filepath.Glob(pattern)
	if len(dirs) == 0 {
		return pattern
	}
	return slices.MaxFunc(dirs, compareVersions)
}

// compareVersions compares two strings as sort -V does for the usual
// cases: runs of digits by value, everything else byte by byte.
func compareVersions(a, b string) int {
	for a != "" && b != "" {
		na, ra := leadingNumber(a)
		nb, rb := leadingNumber(b)
		switch {
		case na >= 0 && nb >= 0:
			if na != nb {
				return cmp.Compare(na, nb)
			}
			a, b = ra, rb
		case a[0] != b[0]:
			return cmp.Compare(int(a[0]), int(b[0]))
		default:
			a, b = a[1:], b[1:]
		}
	}
	return cmp.Compare(len(a), len(b))
}

// leadingNumber returns the number s starts with and the rest, or -1.
func leadingNumber(s string) (int, string) {
	i := 0
	for i < len(s) && i < 9 && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return -1, s
	}
	n, _ := strconv.Atoi(s[:i])
	return n, s[i:]
}
