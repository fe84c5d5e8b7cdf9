package token

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/bootwright/bootwright/internal/hw"
)

func TestMintParse(t *testing.T) {
	s := Signer{Key: []byte("0123456789abcdef0123456789abcdef")}
	want := Token{MAC: hw.MustParseMAC("52:54:00:00:00:01"), Issued: time.UnixMilli(1_800_000_000_123), Addr: netip.MustParseAddr("10.0.0.5")}
	tok := s.Mint(Files, want)
	if len(tok) != 48 {
		t.Errorf("token %q is %d characters, want 48", tok, len(tok))
	}
	got, err := s.Parse(Files, tok)
	if err != nil || !cmp.Equal(want, got, cmpopts.EquateComparable(netip.Addr{})) {
		t.Errorf("Parse = %v, %v; want %v", got, err, want)
	}
	v6 := want
	v6.Addr = netip.MustParseAddr("fd00::5")
	if got, err := s.Parse(Files, s.Mint(Files, v6)); err != nil || got.Addr != v6.Addr {
		t.Errorf("IPv6: %v %v", got, err)
	}
	flip := []byte(tok)
	flip[3] ^= 0x20 // swap the case of one character
	tests := map[string]struct {
		signer  Signer
		purpose string
		tok     string
		want    error
	}{
		"another purpose":  {s, Installed, tok, ErrSignature},
		"another server":   {Signer{Key: []byte("other")}, Files, tok, ErrSignature},
		"no key":           {Signer{}, Files, tok, ErrSignature},
		"truncated":        {s, Files, tok[:len(tok)-2], ErrMalformed},
		"cut to nothing":   {s, Files, tok[:10], ErrMalformed},
		"extended":         {s, Files, tok + "AA", ErrMalformed},
		"case swapped":     {s, Files, string(flip), nil},
		"empty":            {s, Files, "", ErrMalformed},
		"not base64":       {s, Files, "!!!!", ErrMalformed},
		"padded":           {s, Files, tok + "=", ErrMalformed},
		"old 22-char form": {s, Files, strings.Repeat("A", 22), ErrMalformed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tc.signer.Parse(tc.purpose, tc.tok)
			if tc.want == nil {
				// A changed character changes a field or the sum: never accepted.
				if err == nil {
					t.Fatal("a changed token was accepted")
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Parse = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzParse: no input panics, and whatever parses was minted by the key.
func FuzzParse(f *testing.F) {
	s := Signer{Key: []byte("k")}
	f.Add(s.Mint(Files, Token{MAC: hw.MAC{2}, Issued: time.UnixMilli(1)}))
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := s.Parse(Files, tok)
		if err == nil && s.Mint(Files, got) != tok {
			t.Fatalf("Parse(%q) accepted a token it would not mint", tok)
		}
	})
}
