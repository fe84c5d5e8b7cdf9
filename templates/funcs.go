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
			fields[i] = "'" + strings.ReplaceAll(f, "'", `'\''`) + "'"
		}
	}
	return strings.Join(fields, " ")
}
