package registrar

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxKeyLen is the longest idempotency key the contract allows.
const MaxKeyLen = 200

// MaxBodyBytes is the largest request body the contract allows (64 KiB).
const MaxBodyBytes = 64 << 10

// CheckKey reports whether key is an idempotency key the contract allows:
// 1 to MaxKeyLen printable ASCII characters, not beginning or ending with
// a space (HTTP would drop it, and two keys would meet as one).
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: %d characters, over %d", ErrInvalidKey, len(key), MaxKeyLen)
	case key[0] == ' ' || key[len(key)-1] == ' ':
		return fmt.Errorf("%w: begins or ends with a space", ErrInvalidKey)
	}
	for i := range len(key) {
		if c := key[i]; c < ' ' || c > '~' {
			return fmt.Errorf("%w: byte %#x at %d is not printable ASCII", ErrInvalidKey, c, i)
		}
	}
	return nil
}

// registration is what a service reads from a request body.
type registration struct {
	receiptID string
	// digest identifies the body as a JSON value: the SHA-256 of its
	// canonical form, so that neither the order of the fields nor white
	// space makes a repeat look like another body.
	digest [sha256.Size]byte
}

// decodeRegistration reads a request body: one JSON object with the
// fields the contract requires, nothing after it.
func decodeRegistration(body []byte) (registration, error) {
	canon, members, err := canonicalObject(body)
	if err != nil {
		return registration{}, fmt.Errorf("body: %w", err)
	}
	field := func(name string) []byte {
		i, ok := slices.BinarySearchFunc(members, name, func(m member, name string) int { return strings.Compare(string(m.name), name) })
		if !ok || string(members[i].value) == "null" {
			return nil
		}
		return members[i].value
	}
	str := func(name, want string) (string, error) {
		v := field(name)
		var s string
		if v == nil || v[0] != '"' || json.Unmarshal(v, &s) != nil || s == "" {
			return "", fieldError(name, want, v)
		}
		return s, nil
	}
	receiptID, err := str("receipt_id", "a non-empty string")
	if err != nil {
		return registration{}, err
	}
	for _, name := range []string{"client", "currency"} {
		if _, err := str(name, "a non-empty string"); err != nil {
			return registration{}, err
		}
	}
	if v := field("total"); v == nil || v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return registration{}, fieldError("total", "a number", v)
	}
	issued, err := str("issued_at", "an RFC 3339 time")
	if err != nil {
		return registration{}, err
	}
	if _, err := time.Parse(time.RFC3339, issued); err != nil {
		return registration{}, fmt.Errorf("body: issued_at: want an RFC 3339 time: %w", err)
	}
	return registration{receiptID: receiptID, digest: sha256.Sum256(canon)}, nil
}

// fieldError says that field name, in canonical form got (nil: missing or
// null), is not what the contract wants.
func fieldError(name, want string, got []byte) error {
	if got == nil {
		return fmt.Errorf("body: %s: missing or null, want %s", name, want)
	}
	return fmt.Errorf("body: %s: want %s, got %s", name, want, jsonKind(got))
}

// jsonKind names the JSON type of a value in canonical form.
func jsonKind(v []byte) string {
	switch v[0] {
	case '"':
		if len(v) == 2 {
			return "an empty string"
		}
		return "a string"
	case 't', 'f':
		return "a boolean"
	case '[':
		return "an array"
	case '{':
		return "an object"
	}
	return "a number"
}
