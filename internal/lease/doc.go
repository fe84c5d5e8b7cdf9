// Package lease says what an address lease is, apart from DHCP and from
// where leases are kept: a Lease (address, MAC, expiry, state), the
// changes a server makes to one (Op), the rule that decides whether a
// change may be made (Op.Apply), and the Store interface a lease database
// implements (bbolt in dhcpboot, PostgreSQL in internal/pgstore).
//
// Every change that gives an address to a client is a claim: the store
// checks it against the lease it holds for that address and refuses it
// with a *ConflictError naming the holder when the address is another
// live client's. With one server the check never fails (its pool already
// knows every lease); with replicas sharing a database it is what keeps
// an address from ever being leased to two live clients, whatever the
// replicas believed.
//
// Addresses are netip.Addr, so DHCPv6 leases (keyed by MAC, as IPv6 PXE
// clients are) fit the same types and stores.
package lease
