// Package dhcpboot answers PXE and UEFI HTTP Boot clients over DHCPv4.
//
// Each packet is parsed once into a Client, admitted or not (Filter, a
// per-MAC RateLimit, our own addresses), decided by the pure function
// Decide from the client, its Host entry (Server.Hosts, fed from the
// machines file) and the Policy, and answered for the configured mode:
//
//   - proxyDHCP beside an existing DHCP server (ports 67 and 4011, PXE 2.1):
//     boot options only, never an address;
//   - a full RFC 2131 server leasing from one Pool per Subnet, chosen by
//     receiving interface or relay (giaddr), with leases persisted in a
//     LeaseDB (bbolt) before each ACK is sent, group-committed.
//
// Every packet is counted by message type and outcome (Stats) and logged
// with a child logger carrying mac, xid, arch, mode and decision.
package dhcpboot
