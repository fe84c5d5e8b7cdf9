// Package dhcp6boot answers PXE, UEFI HTTP Boot and iPXE clients over
// DHCPv6 (RFC 8415), beside dhcpboot's DHCPv4 and in its shape: each
// datagram is parsed once into a Client (relay envelopes unwrapped, at
// most RFC 8415's hop limit deep), admitted or not (dhcpboot.Filter, a
// per-MAC rate limit, our own addresses), decided by the pure function
// Decide, which asks dhcpboot.Decide what the machine boots and writes it
// as an IPv6 URL (option 59), and answered for the configured mode:
//
//   - full: a stateful server leasing one IA_NA address per MAC from one
//     Pool per Subnet, chosen by receiving interface or by the relay's
//     link-address, with leases persisted in a LeaseDB (the DHCPv4 lease
//     file's bbolt database, a table of its own) before each Reply is sent;
//   - proxy: boot options only, for networks whose own DHCPv6 server hands
//     out addresses: an Advertise without addresses to boot clients, a
//     Reply to Information-requests, and the PXE boot server exchange
//     UEFI firmware holds on port 4011 with the server its proxy offer
//     names.
//
// A machine is known by its MAC, never by its DUID alone: from a DUID-LL
// or DUID-LLT, else the link-layer address a relay adds (option 79, RFC
// 6939), else the modified EUI-64 of the client's link-local address,
// else the kernel's neighbour table. iPXE under QEMU sends an all-zero
// DUID-UUID, which names no machine.
//
// Every datagram is counted by message type and outcome (Stats) and
// logged with a child logger carrying mac, xid, type, arch, mode and
// decision. Advertiser sends the router advertisements a lab without a
// router needs (--ipv6-ra).
package dhcp6boot
