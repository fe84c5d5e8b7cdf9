package tftpboot

import (
	"strconv"
	"time"
)

// Option limits from the RFCs.
const (
	defaultBlksize = 512   // RFC 1350
	minBlksize     = 8     // RFC 2348
	maxBlksize     = 65464 // RFC 2348
	minTimeout     = 1     // RFC 2349, seconds
	maxTimeout     = 255   // RFC 2349, seconds
	minWindow      = 1     // RFC 7440
	maxWindow      = 65535 // RFC 7440
)

// limits bound what negotiate grants a transfer.
type limits struct {
	// blksize is the largest block: MaxBlockSize and the MTU of the
	// interface the request came in on, whichever is smaller.
	blksize int
	// window is MaxWindowSize; 1 refuses the windowsize option.
	window int
}

// grant is what a transfer runs with after option negotiation.
type grant struct {
	blksize int           // bytes per DATA packet
	window  int           // DATA packets sent before an ACK is awaited (RFC 7440)
	timeout time.Duration // 0: the server's Timeout; else the client's (RFC 2349)
	oack    []option      // the options acknowledged, in request order; none: no OACK
}

// negotiate decides which of a read request's options are accepted, for
// content of size bytes (RFC 2347: the server leaves out of its OACK any
// option it does not accept, and the client then uses the default):
//
//   - blksize (RFC 2348): 8 to 65464, else ignored; granted as asked, or
//     lim.blksize if that is smaller.
//   - tsize (RFC 2349): any value (a read request should carry 0); the
//     OACK carries size, unless size is 0: curl takes "tsize 0" in an
//     OACK for an error and fails the transfer, so an empty file's size
//     is left out, as pin/tftp did.
//   - timeout (RFC 2349): 1 to 255 seconds, else ignored; granted as
//     asked and used as the retransmission timeout.
//   - windowsize (RFC 7440): 1 to 65535, else ignored; granted as asked,
//     or lim.window if that is smaller. With lim.window 1 it is left out.
//
// Option names are matched in any case and echoed as the client spelt
// them; of an option given twice the first counts; others are ignored.
func negotiate(opts []option, size int64, lim limits) grant {
	g := grant{blksize: defaultBlksize, window: 1}
	seen := map[string]bool{}
	for _, o := range opts {
		if seen[o.key] {
			continue
		}
		seen[o.key] = true
		value, ok := "", false
		switch o.key {
		case "blksize":
			if n, valid := parseOptionInt(o.value, minBlksize, maxBlksize); valid {
				g.blksize = min(n, lim.blksize)
				value, ok = strconv.Itoa(g.blksize), true
			}
		case "tsize":
			value, ok = strconv.FormatInt(size, 10), size > 0
		case "timeout":
			if n, valid := parseOptionInt(o.value, minTimeout, maxTimeout); valid {
				g.timeout = time.Duration(n) * time.Second
				value, ok = strconv.Itoa(n), true
			}
		case "windowsize":
			if n, valid := parseOptionInt(o.value, minWindow, maxWindow); valid && lim.window > 1 {
				g.window = min(n, lim.window)
				value, ok = strconv.Itoa(g.window), true
			}
		}
		if ok {
			g.oack = append(g.oack, option{name: o.name, key: o.key, value: value})
		}
	}
	return g
}

// parseOptionInt parses a decimal option value within lo..hi: digits
// only, no sign or spaces, leading zeros allowed.
func parseOptionInt(s string, lo, hi int) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= lo && n <= hi
}
