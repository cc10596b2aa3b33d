package registrar

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // keeps numbers as written, so the digest sees them exactly
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return registration{}, fmt.Errorf("body: %w", err)
	}
	if fields == nil {
		return registration{}, errors.New("body: null, want a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return registration{}, errors.New("body: data after the JSON object")
	}
	for _, name := range []string{"receipt_id", "client", "currency"} {
		if s, ok := fields[name].(string); !ok || s == "" {
			return registration{}, fieldError(name, "a non-empty string", fields[name])
		}
	}
	if _, ok := fields["total"].(json.Number); !ok {
		return registration{}, fieldError("total", "a number", fields["total"])
	}
	issued, ok := fields["issued_at"].(string)
	if !ok {
		return registration{}, fieldError("issued_at", "an RFC 3339 time", fields["issued_at"])
	}
	if _, err := time.Parse(time.RFC3339, issued); err != nil {
		return registration{}, fmt.Errorf("body: issued_at: want an RFC 3339 time: %w", err)
	}
	// Marshalling a map sorts its keys: the canonical form.
	canonical, err := json.Marshal(fields)
	if err != nil {
		return registration{}, fmt.Errorf("body: %w", err)
	}
	return registration{receiptID: fields["receipt_id"].(string), digest: sha256.Sum256(canonical)}, nil
}

func fieldError(name, want string, got any) error {
	if got == nil {
		return fmt.Errorf("body: %s: missing or null, want %s", name, want)
	}
	return fmt.Errorf("body: %s: want %s, got %s", name, want, jsonKind(got))
}

// jsonKind names the JSON type of a value decoded with UseNumber.
func jsonKind(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return "an empty string"
		}
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
