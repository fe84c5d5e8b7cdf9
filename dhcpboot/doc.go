// Package dhcpboot answers PXE clients over DHCPv4.
//
// It parses each packet once into a Client, decides the boot with the pure
// function Decide, and builds the reply for the configured mode: proxyDHCP
// beside an existing DHCP server (ports 67 and 4011, no address handed out)
// or a full DHCP server leasing from a configured range.
package dhcpboot
