// Package token makes and checks per-machine tokens: a machine's MAC, the
// time its boot was bound and the address it was minted for, sealed with
// an HMAC-SHA256 under a server secret, so that a URL can prove it was
// handed to that machine during that boot (an installer's callback, an
// answer file link) without the server storing every token. The fields
// are in the clear (none is secret) so a refusal can say why: another
// machine's token, an expired one, a revoked one.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// Purposes keep a token for one use from working for another.
const (
	Installed = "installed" // the installer's "done" callback
	Files     = "files"     // fetching per-machine files
)

// Errors of Parse. Any token that is not exactly one this server made for
// the purpose is one of them.
var (
	ErrMalformed = errors.New("malformed token")
	ErrSignature = errors.New("token not signed by this server for this use")
)

// Token is what a token says.
type Token struct {
	MAC    hw.MAC
	Issued time.Time  // the boot it belongs to, to the millisecond
	Addr   netip.Addr // the address it was minted for (invalid: none)
}

// version is the first byte of every token this code makes.
const version = 1

// macLen is how much of the HMAC a token carries: 128 bits.
const macLen = 16

// Signer makes and checks tokens with Key.
type Signer struct{ Key []byte }

// Mint returns the token t for purpose: URL-safe base64, 48 characters
// for an IPv4 address, 64 for IPv6.
func (s Signer) Mint(purpose string, t Token) string {
	body := encode(t)
	return base64.RawURLEncoding.EncodeToString(append(body, s.sum(purpose, body)...))
}

// Parse checks that tok is a token this server minted for purpose and
// returns what it says. It does not judge its age or its machine.
func (s Signer) Parse(purpose, tok string) (Token, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) < macLen+1 {
		return Token{}, ErrMalformed
	}
	body, sum := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	t, err := decode(body)
	if err != nil {
		return Token{}, err
	}
	if len(s.Key) == 0 || !hmac.Equal(sum, s.sum(purpose, body)) {
		return Token{}, ErrSignature
	}
	return t, nil
}

func (s Signer) sum(purpose string, body []byte) []byte {
	h := hmac.New(sha256.New, s.Key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)[:macLen]
}

// encode lays t out as version (1), MAC (6), issued in Unix milliseconds
// (8), address length (1: 0, 4 or 16) and address.
func encode(t Token) []byte {
	b := make([]byte, 0, 1+6+8+1+16+macLen)
	b = append(b, version)
	b = append(b, t.MAC[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(t.Issued.UnixMilli()))
	a := t.Addr.Unmap().AsSlice()
	b = append(b, byte(len(a)))
	return append(b, a...)
}

func decode(b []byte) (Token, error) {
	if len(b) < 16 || b[0] != version {
		return Token{}, ErrMalformed
	}
	var t Token
	copy(t.MAC[:], b[1:7])
	t.Issued = time.UnixMilli(int64(binary.BigEndian.Uint64(b[7:15])))
	n := int(b[15])
	if len(b) != 16+n || (n != 0 && n != 4 && n != 16) {
		return Token{}, ErrMalformed
	}
	if n > 0 {
		t.Addr, _ = netip.AddrFromSlice(b[16:])
	}
	return t, nil
}

// String describes t for logs and refusals.
func (t Token) String() string {
	return fmt.Sprintf("token of %s issued %s for %s", t.MAC, t.Issued.UTC().Format(time.RFC3339), t.Addr)
}
