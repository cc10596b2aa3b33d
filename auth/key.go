package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeyPrefix starts every API key, so a leaked key is recognisable (secret
// scanners) and a key is never mistaken for a password.
const KeyPrefix = "rk_"

// keyLen is the length of a key: the prefix and 32 bytes in base64url.
var keyLen = len(KeyPrefix) + base64.RawURLEncoding.EncodedLen(32)

// Digest is the SHA-256 of a key: what the registry stores and compares.
type Digest [sha256.Size]byte

// NewKey returns a fresh random key and its digest.
func NewKey() (string, Digest, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Digest{}, fmt.Errorf("auth: new key: %w", err)
	}
	key := KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return key, HashKey(key), nil
}

// HashKey returns the digest of key.
func HashKey(key string) Digest { return sha256.Sum256([]byte(key)) }

// WellFormed reports whether key has the shape of a ration key. It says
// nothing about whether the key is registered.
func WellFormed(key string) bool {
	return len(key) == keyLen && strings.HasPrefix(key, KeyPrefix)
}

// String is the digest in hex, as stored in the registry's records.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

var errDigest = errors.New("auth: key hash is not 64 hex digits")

// parseDigest reads a digest stored in hex.
func parseDigest(s string) (Digest, error) {
	var d Digest
	if hex.DecodedLen(len(s)) != len(d) {
		return d, errDigest
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, errDigest
	}
	return d, nil
}
