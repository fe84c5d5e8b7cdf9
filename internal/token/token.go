// Package token makes and checks per-machine tokens: an HMAC-SHA256 of a
// purpose and a MAC under a server secret, so a URL can prove it was
// handed to that machine (an installer's callback, an answer file link)
// without the server storing every token.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// Purposes keep a token for one use from working for another.
const (
	Installed = "installed" // the installer's "done" callback
	Files     = "files"     // fetching per-machine files
)

// Signer makes and checks tokens with Key.
type Signer struct{ Key []byte }

// Sign returns the token for purpose and mac: 22 URL-safe characters.
func (s Signer) Sign(purpose, mac string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac(purpose, mac)[:16])
}

// Verify reports whether tok is the token for purpose and mac, in
// constant time.
func (s Signer) Verify(purpose, mac, tok string) bool {
	got, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(s.Key) == 0 {
		return false
	}
	return hmac.Equal(got, s.mac(purpose, mac)[:16])
}

func (s Signer) mac(purpose, mac string) []byte {
	h := hmac.New(sha256.New, s.Key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(mac))
	return h.Sum(nil)
}
