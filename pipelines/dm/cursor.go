package dm

import (
	"fmt"

	"github.com/rationhq/ration"
)

// A page cursor is the last user id of a page (ration.EncodeCursor).

// EncodeCursor returns the cursor of the page that starts after userID.
func EncodeCursor(userID string) string { return ration.EncodeCursor(userID) }

// decodeCursor returns the user id a cursor names; "" starts at the top.
func decodeCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	id, err := ration.DecodeCursor(cursor)
	if err != nil {
		return "", err
	}
	if !ration.UserIDPattern.MatchString(id) {
		return "", fmt.Errorf("cursor %.40q: not a user id: %w", cursor, ration.ErrBadCursor)
	}
	return id, nil
}
