package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/golden"
)

// fakeHelp answers from testdata/*.help, as bootwright printed them.
func fakeHelp(t *testing.T) helpFunc {
	return func(args ...string) (string, error) {
		switch {
		case args[0] == "--help":
			return readFile(t, "testdata/usage.help"), nil
		case args[0] == "version":
			return "bootwright 0.0~git215.03cf388\n", nil
		case len(args) == 2 && args[1] == "-h":
			return readFile(t, "testdata/"+args[0]+".help"), nil
		}
		return "", errors.New("unexpected args")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPageGolden(t *testing.T) {
	got, err := build(fakeHelp(t), "2026-12-07")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/bootwright.1", string(got))
}

func TestParseCommandHelp(t *testing.T) {
	tests := map[string]struct {
		text string
		want Command
	}{
		"usage line, paragraphs, typed and bool flags": {
			text: "usage: bootwright doctor [flags]\n\nActs as a client,\nover two lines.\n\nExit 0.\n\n" +
				"  -arch string\n    \tfirmware (default \"efi-x64\")\n  -json\n    \tprint JSON\n",
			want: Command{Name: "doctor", Synopsis: "bootwright doctor [flags]",
				Text:  []string{"Acts as a client, over two lines.", "Exit 0."},
				Flags: []Flag{{"arch", "string", `firmware (default "efi-x64")`}, {"json", "", "print JSON"}}},
		},
		"Usage of, short flag on one line, two-line help": {
			text: "Usage of serve:\n  -x\tone letter\n  -tftp-timeout duration\n    \tfirst\n    \tsecond\n",
			want: Command{Name: "serve", Synopsis: "bootwright serve [flags]",
				Flags: []Flag{{"x", "", "one letter"}, {"tftp-timeout", "duration", "first\nsecond"}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Command{Name: tc.want.Name}
			if err := parseCommandHelp(&got, tc.text); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	c := Command{Name: "serve"}
	for _, text := range []string{"", "bootwright 1.0\n", "Usage of serve:\n  -a string\n    \thelp\nstray text\n"} {
		if err := parseCommandHelp(&c, text); err == nil {
			t.Errorf("parseCommandHelp(%q): no error", text)
		}
	}
	for _, text := range []string{"", "usage: bootwright\n", "commands:\n  serve run\n"} {
		if _, err := parseUsage(text); err == nil {
			t.Errorf("parseUsage(%q): no error", text)
		}
	}
}

func TestRoff(t *testing.T) {
	tests := map[string]string{
		`--config-dir`:            `\-\-config\-dir`,
		`C:\boot`:                 `C:\eboot`,
		".hidden\n'quote\nplain":  "\\&.hidden\n.br\n\\&'quote\n.br\nplain",
		`{{ .Secret "name" }} ok`: `{{ .Secret "name" }} ok`,
	}
	for in, want := range tests {
		if got := roff(in); got != want {
			t.Errorf("roff(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := arg(`a "b"`), `"a \(dqb\(dq"`; got != want {
		t.Errorf("arg = %q, want %q", got, want)
	}
}

func TestEnv(t *testing.T) {
	if got := (Flag{Name: "dhcp-mode"}).Env(); got != "BOOTWRIGHT_DHCP_MODE" {
		t.Errorf("Env = %q", got)
	}
}

func FuzzParseCommandHelp(f *testing.F) {
	for _, name := range []string{"serve", "check", "render", "machines", "doctor"} {
		b, err := os.ReadFile("testdata/" + name + ".help")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		c := Command{Name: "serve", Summary: "run"}
		if err := parseCommandHelp(&c, text); err != nil {
			return
		}
		out, err := render(Page{Version: "v", Date: "2026-01-01", Commands: []Command{c}})
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, ".") && !knownRequest(line) {
				t.Fatalf("help text became a roff request: %q", line)
			}
		}
	})
}

// knownRequest reports whether line is one of the requests the template
// writes itself.
func knownRequest(line string) bool {
	for _, r := range []string{`.\"`, ".TH ", ".SH", ".SS ", ".B ", ".I ", ".IR ", ".RI ", ".BR ", ".PP", ".TP", ".br", ".UR ", ".UE"} {
		if strings.HasPrefix(line, r) {
			return true
		}
	}
	return false
}
