package main

import (
	"fmt"
	"regexp"
	"strings"
)

// Command is one subcommand as its help text describes it.
type Command struct {
	Name     string
	Summary  string   // the line bootwright --help gives it
	Synopsis string   // "bootwright check [flags] [CONFIG-DIR]"
	Text     []string // paragraphs of its -h text before the flags
	Flags    []Flag
}

// Flag is one flag as the standard flag package prints it.
type Flag struct {
	Name string
	Type string // "string", "duration", ...; empty for a bool flag
	Help string
}

// Env is the environment variable bootwright reads the flag from.
func (f Flag) Env() string {
	return "BOOTWRIGHT_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
}

var commandLine = regexp.MustCompile(`^  ([a-z][a-z0-9-]*)\s{2,}(\S.*)$`)

// parseUsage reads the command list of bootwright --help: the lines
// after "commands:", each a name and a summary.
func parseUsage(text string) ([]Command, error) {
	var cmds []Command
	in := false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case line == "commands:":
			in = true
		case in && commandLine.MatchString(line):
			m := commandLine.FindStringSubmatch(line)
			cmds = append(cmds, Command{Name: m[1], Summary: m[2]})
		case in && strings.TrimSpace(line) != "":
			return nil, fmt.Errorf("usage: unexpected line in the command list: %q", line)
		}
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("usage: no \"commands:\" list in %q", firstLine(text))
	}
	return cmds, nil
}

var (
	flagLine      = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9_.-]*)(?: ([a-z0-9.]+))?$`)
	shortFlagLine = regexp.MustCompile(`^  -([A-Za-z0-9])(?: ([a-z0-9.]+))?\t(.*)$`)
)

// parseCommandHelp fills c from the text of `bootwright NAME -h`: a
// "usage: ..." or "Usage of NAME:" line, paragraphs, then the flags as
// flag.PrintDefaults writes them ("  -name type" and "    \thelp" lines).
func parseCommandHelp(c *Command, text string) error {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) == 0 {
		return fmt.Errorf("%s -h: empty help", c.Name)
	}
	switch head := lines[0]; {
	case strings.HasPrefix(head, "usage: "):
		c.Synopsis = strings.TrimPrefix(head, "usage: ")
	case head == "Usage of "+c.Name+":":
		c.Synopsis = "bootwright " + c.Name + " [flags]"
	default:
		return fmt.Errorf("%s -h: first line %q is not a usage line", c.Name, head)
	}
	var para []string
	endPara := func() {
		if len(para) > 0 {
			c.Text = append(c.Text, strings.Join(para, " "))
			para = nil
		}
	}
	for i, line := range lines[1:] {
		if m := shortFlagLine.FindStringSubmatch(line); m != nil {
			endPara()
			c.Flags = append(c.Flags, Flag{Name: m[1], Type: m[2], Help: m[3]})
			continue
		}
		if m := flagLine.FindStringSubmatch(line); m != nil {
			endPara()
			c.Flags = append(c.Flags, Flag{Name: m[1], Type: m[2]})
			continue
		}
		if rest, ok := strings.CutPrefix(line, "    \t"); ok && len(c.Flags) > 0 {
			f := &c.Flags[len(c.Flags)-1]
			f.Help = strings.TrimSpace(f.Help + "\n" + rest)
			continue
		}
		if len(c.Flags) > 0 {
			return fmt.Errorf("%s -h: line %d after the flags is not a flag: %q", c.Name, i+2, line)
		}
		if strings.TrimSpace(line) == "" {
			endPara()
			continue
		}
		para = append(para, strings.TrimSpace(line))
	}
	endPara()
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
