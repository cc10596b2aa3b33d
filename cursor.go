package ration

import (
	"encoding/base64"
	"errors"
	"fmt"
)

// ErrBadCursor is returned by a reader for a cursor it did not issue; the
// API answers 400.
var ErrBadCursor = errors.New("bad cursor")

// EncodeCursor makes an opaque page cursor of where a page ended:
// base64url, so that clients pass it back as it is.
func EncodeCursor(position string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(position))
}

// DecodeCursor returns the position a cursor of EncodeCursor names. It is
// strict: one position has one cursor, so a cursor is accepted only as
// EncodeCursor writes it (base64's decoder alone skips line breaks and
// takes other bits after the last character). An error wraps
// ErrBadCursor.
func DecodeCursor(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || EncodeCursor(string(b)) != cursor {
		return "", fmt.Errorf("cursor %.40q: %w", cursor, ErrBadCursor)
	}
	return string(b), nil
}
