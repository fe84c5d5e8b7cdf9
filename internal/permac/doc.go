// Package permac holds the per-MAC bookkeeping the DHCP servers share: a
// token bucket per client (Limiter), so that one client stuck in a boot
// loop cannot crowd out the others, and a once-per-interval gate per
// client and kind of warning (Once), so that a client that keeps asking is
// warned about once, not on every packet. Both bound their tables, so a
// flood of made-up MACs cannot grow them without limit.
package permac
