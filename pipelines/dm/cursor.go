package dm

import (
	"encoding/base64"
	"fmt"

	"github.com/rationhq/ration"
)

// A cursor is the last user id of a page, base64url-encoded so clients
// treat it as opaque. Decoding is strict: one id has one cursor.

// EncodeCursor returns the cursor of the page that starts after userID.
func EncodeCursor(userID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(userID))
}

// decodeCursor returns the user id a cursor names; "" starts at the top.
func decodeCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || !ration.UserIDPattern.Match(b) {
		return "", fmt.Errorf("cursor %.40q: %w", cursor, ration.ErrBadCursor)
	}
	return string(b), nil
}
