package answers

import (
	"fmt"
	"regexp"
	"strings"
)

// preseedTypes are the debconf question types cdebconf and
// debconf-set-selections know, and "seen", the one flag a line may set.
var preseedTypes = setOf("string", "boolean", "select", "multiselect",
	"note", "text", "password", "error", "title", "seen")

// preseedFields is how debconf-set-selections splits a line: owner,
// question, type, then the value after one whitespace character.
var preseedFields = regexp.MustCompile(`^\s*(\S+)\s+(\S+)\s+(\S+)(?:\s(.*))?$`)

// checkPreseed checks each selection: owner, question (with a slash)
// and a known type, booleans (and the seen flag) true or false. A line
// ending in a backslash continues on the next; problems name the first
// line of the selection. An empty value is allowed (debconf's own
// examples set "d-i mirror/http/proxy string" that way).
func checkPreseed(content []byte) []Problem {
	var probs []Problem
	add := func(line int, format string, args ...any) {
		probs = append(probs, Problem{line, fmt.Sprintf(format, args...)})
	}
	ls := lines(content)
	for i := 0; i < len(ls); i++ {
		n := i + 1
		line := ls[i]
		for strings.HasSuffix(line, `\`) {
			if i+1 == len(ls) {
				add(n, "the last line ends with a backslash (a continuation with nothing after it)")
				break
			}
			i++
			line = strings.TrimSuffix(line, `\`) + ls[i]
		}
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		m := preseedFields.FindStringSubmatch(line)
		if m == nil {
			add(n, "want OWNER QUESTION TYPE VALUE, got %q", clip(t))
			continue
		}
		question, typ, value := m[2], m[3], strings.TrimSpace(m[4])
		if !strings.Contains(question, "/") {
			add(n, "question %q has no '/' (want e.g. d-i netcfg/get_hostname string NAME)", clip(question))
		}
		switch {
		case !preseedTypes[typ]:
			add(n, "%s: unknown type %q (want string, boolean, select, multiselect, note, text, password, error or title)", clip(question), clip(typ))
		case (typ == "boolean" || typ == "seen") && value != "true" && value != "false":
			add(n, "%s: %s value must be true or false, not %q", clip(question), typ, clip(value))
		}
	}
	return probs
}

// clip shortens s for a message.
func clip(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return s
}
