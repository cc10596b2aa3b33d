package dm

import (
	"errors"
	"testing"

	"github.com/rationhq/ration"
)

func TestCursor(t *testing.T) {
	for _, id := range []string{"u1", "a.b:c-d_e", "Z"} {
		got, err := decodeCursor(EncodeCursor(id))
		if err != nil || got != id {
			t.Fatalf("round trip %q: %q, %v", id, got, err)
		}
	}
	if got, err := decodeCursor(""); got != "" || err != nil {
		t.Fatalf("empty cursor: %q, %v", got, err)
	}
	for _, bad := range []string{"!!", "dTE=", EncodeCursor("has space"), EncodeCursor(string(make([]byte, 65)))} {
		if _, err := decodeCursor(bad); !errors.Is(err, ration.ErrBadCursor) {
			t.Fatalf("cursor %q: err %v, want ErrBadCursor", bad, err)
		}
	}
}

func FuzzCursor(f *testing.F) {
	f.Add(EncodeCursor("u1"))
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, cursor string) {
		id, err := decodeCursor(cursor)
		if err != nil {
			if !errors.Is(err, ration.ErrBadCursor) {
				t.Fatalf("error %v does not wrap ErrBadCursor", err)
			}
			return
		}
		if cursor != "" && (!ration.UserIDPattern.MatchString(id) || EncodeCursor(id) != cursor) {
			t.Fatalf("cursor %q accepted as %q", cursor, id)
		}
	})
}
