// Package cache is bootwright's caching proxy for upstream boot images:
// a menu entry may name a kernel or initrd on a distribution mirror, and
// the machines of a lab fetch it from us instead, at LAN speed, while the
// mirror sees one download.
//
// A Cache serves only URLs that were registered with Register, under
// /cache/{key}/{name}; it is never an open proxy. The first request for an
// entry starts one upstream fetch that writes to disk; that client and
// every concurrent one read the file as it grows. An interrupted fetch is
// resumed with a Range request when the upstream supports it; a sha256
// given at registration, or the one the distribution's checksum list
// (SHA256SUMS, SHA256, .treeinfo: RegisterSums) gives for the file, is
// checked before the entry counts as complete. An upstream that answers
// with an HTML page (a captive portal, a mirror's error page served with
// 200) or an empty body is refused before any byte reaches a client. A
// client never receives the last byte of a file before the fetch has
// finished and verified it, so a failed fetch always ends in an error the
// client sees, never in a short or corrupt file that looks complete.
//
// Failure says why an entry's last fetch failed, naming the upstream, for
// a machine's timeline.
//
// The index (registrations, sizes, checksums, last use) lives in
// Dir/index.json; complete files in Dir/files/, partial ones in
// Dir/partial/. Disk use stays under MaxBytes by evicting the least
// recently used files.
package cache
