package token

import "testing"

func TestSignVerify(t *testing.T) {
	s := Signer{Key: []byte("0123456789abcdef0123456789abcdef")}
	tok := s.Sign(Installed, "52:54:00:00:00:01")
	if len(tok) != 22 {
		t.Errorf("token %q is %d characters, want 22", tok, len(tok))
	}
	tests := map[string]struct {
		signer       Signer
		purpose, mac string
		tok          string
		want         bool
	}{
		"right":                 {s, Installed, "52:54:00:00:00:01", tok, true},
		"another machine":       {s, Installed, "52:54:00:00:00:02", tok, false},
		"another purpose":       {s, Files, "52:54:00:00:00:01", tok, false},
		"another server":        {Signer{Key: []byte("other")}, Installed, "52:54:00:00:00:01", tok, false},
		"forged":                {s, Installed, "52:54:00:00:00:01", "AAAAAAAAAAAAAAAAAAAAAA", false},
		"empty":                 {s, Installed, "52:54:00:00:00:01", "", false},
		"not base64":            {s, Installed, "52:54:00:00:00:01", "!!!", false},
		"no key never verifies": {Signer{}, Installed, "52:54:00:00:00:01", Signer{}.Sign(Installed, "52:54:00:00:00:01"), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.signer.Verify(tc.purpose, tc.mac, tc.tok); got != tc.want {
				t.Errorf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}
