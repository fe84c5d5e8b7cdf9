// Package hw is the vocabulary every part of bootwright shares about a
// boot client's hardware: its Ethernet address (MAC, with the one place
// its text forms are written) and its firmware architecture (Arch, the
// DHCP option 93 code of RFC 4578 with IANA's registry, one table row per
// architecture naming its firmware, CPU and the boot programs it runs).
//
// DHCP parses a packet into these types, menus select groups by them,
// the boot policy picks files by them and the HTTP and TFTP servers
// build and parse URLs and file names through them. Adding an
// architecture is one row in archTable plus its boot files.
package hw
