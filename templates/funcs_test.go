package templates

import "testing"

func TestGRUBQuoting(t *testing.T) {
	tests := map[string]struct {
		fn       func(string) string
		in, want string
	}{
		"plain title":          {grubQuote, "Boot from local disk", `'Boot from local disk'`},
		"apostrophe":           {grubQuote, "Debian's kernel", `'Debian'\''s kernel'`},
		"specials stay inside": {grubQuote, `a $b; "c" \d`, `'a $b; "c" \d'`},
		"empty":                {grubQuote, "", `''`},
		"args left alone":      {grubArgs, "console=ttyS0 panic=-1", "console=ttyS0 panic=-1"},
		"args quoted":          {grubArgs, "ds=nocloud-net;s=http://x/ a='b'", `'ds=nocloud-net;s=http://x/' 'a='\''b'\'''`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.fn(tc.in); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
