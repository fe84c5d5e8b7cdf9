// Package doctor is `bootwright doctor`: a PXE client that tells why a
// machine does not network-boot.
//
// It works in three layers:
//
//   - Doctor.Run acts as a PXE ROM on one interface and records what it
//     sees as Facts: every DHCP and proxyDHCP offer, the DHCPREQUEST and
//     the PXE boot server (port 4011) exchange, the boot file fetched over
//     TFTP or HTTP, and what an iPXE client is told and fetches next.
//   - Choose (a pure function) picks the offers a PXE ROM would use, as
//     PXE 2.1 section 2.2 describes; Run follows it.
//   - Diagnose (a pure function) maps the facts to Findings: the PXE error
//     a firmware would show (PXE-E51, E52, E53, E55, E32, E3B) or a
//     warning (two servers offer boot files, an offer without next-server,
//     the iPXE loop), each with its fix.
//
// Report holds all three and renders as text (WriteText) or JSON.
package doctor
