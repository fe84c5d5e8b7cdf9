package templates

import (
	"net/url"
	"strings"
)

// grubPath turns an http:// or tftp:// URL into a GRUB device path,
// "(http,HOST:PORT)/path?query"; anything else is returned unchanged.
func grubPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "tftp") || u.Host == "" {
		return raw
	}
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return "(" + u.Scheme + "," + u.Host + ")" + p
}

// grubArgs quotes a kernel command line for GRUB's shell-like parser:
// each argument holding a character GRUB treats specially (; & | $ and
// quotes among them) is put in single quotes.
func grubArgs(args string) string {
	fields := strings.Fields(args)
	for i, f := range fields {
		if strings.ContainsAny(f, ";&|$'\"\\<>{}#*?[]~") {
			fields[i] = grubQuote(f)
		}
	}
	return strings.Join(fields, " ")
}

// grubQuote puts s in single quotes for GRUB's parser, which, like sh,
// takes everything between them literally and nothing can escape a quote
// inside: a ' closes the string, is written as \' and the string goes
// on. (sprig's squote leaves it in, so a title such as "Debian's
// kernel" broke the whole grub.cfg.)
func grubQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
