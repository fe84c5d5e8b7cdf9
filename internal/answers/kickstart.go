package answers

import (
	"fmt"
	"strings"
)

// ksCommands are the kickstart commands of RHEL 9 and current Fedora
// (pykickstart's RHEL9 and F40 handlers), without the removed ones.
var ksCommands = setOf(
	"authselect", "autopart", "bootc", "bootloader", "btrfs", "cdrom",
	"clearpart", "cmdline", "device", "driverdisk", "eula", "fcoe",
	"firewall", "firstboot", "graphical", "group", "halt", "harddrive",
	"hmc", "ignoredisk", "iscsi", "iscsiname", "keyboard", "lang",
	"liveimg", "logging", "logvol", "mediacheck", "module", "mount",
	"network", "nfs", "nvdimm", "ostreecontainer", "ostreesetup", "part",
	"partition", "poweroff", "raid", "realm", "reboot", "repo", "reqpart",
	"rescue", "rhsm", "rootpw", "selinux", "services", "shutdown", "skipx",
	"snapshot", "sshkey", "sshpw", "syspurpose", "text", "timesource",
	"timezone", "updates", "url", "user", "vnc", "volgroup", "xconfig",
	"zerombr", "zfcp", "zipl",
)

// ksSections open a section that %end closes.
var ksSections = setOf("%pre", "%pre-install", "%post", "%packages",
	"%onerror", "%traceback", "%addon", "%anaconda", "%certificate")

// ksDirectives take a file or URL and need no %end.
var ksDirectives = setOf("%include", "%ksappend")

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// checkKickstart checks command keywords and their quoting outside
// sections, and that every section is known and closed by %end. Section
// bodies (scripts, package lists) are not checked.
func checkKickstart(content []byte) []Problem {
	var probs []Problem
	add := func(line int, format string, args ...any) {
		probs = append(probs, Problem{line, fmt.Sprintf(format, args...)})
	}
	open, openLine := "", 0
	for i, raw := range lines(content) {
		n := i + 1
		fields := strings.Fields(raw)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		word := fields[0]
		if open != "" {
			switch {
			case word == "%end":
				open = ""
			case ksSections[word]:
				add(openLine, "%s section is not closed by %%end before %s on line %d", open, word, n)
				open, openLine = word, n
			}
			continue
		}
		switch {
		case word == "%end":
			add(n, "%%end without an open section")
		case ksSections[word]:
			open, openLine = word, n
		case ksDirectives[word]:
			if len(fields) < 2 {
				add(n, "%s needs a file or URL", word)
			}
		case strings.HasPrefix(word, "%"):
			add(n, "unknown section %s", word)
		case !ksCommands[word]:
			add(n, "unknown kickstart command %q", word)
		default:
			if msg := shlexProblem(raw); msg != "" {
				add(n, "%s: %s", word, msg)
			}
		}
	}
	if open != "" {
		add(openLine, "%s section is not closed by %%end", open)
	}
	return probs
}

// shlexProblem reports what Python's shlex.split(line, comments=True),
// which kickstart uses to split a command line, would fail on: an
// unterminated quote or a backslash at the end.
func shlexProblem(line string) string {
	const (
		plain = iota
		single
		double
	)
	state := plain
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch state {
		case plain:
			switch c {
			case '\'':
				state = single
			case '"':
				state = double
			case '#':
				return "" // a comment runs to the end of the line
			case '\\':
				if i == len(line)-1 {
					return "line ends with a backslash"
				}
				i++
			}
		case single:
			if c == '\'' {
				state = plain
			}
		case double:
			switch c {
			case '"':
				state = plain
			case '\\':
				if i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\') {
					i++
				}
			}
		}
	}
	switch state {
	case single:
		return "unterminated ' quote"
	case double:
		return `unterminated " quote`
	}
	return ""
}
