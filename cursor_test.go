package ration

import (
	"errors"
	"testing"
)

func TestCursorRefusesWhatItDidNotWrite(t *testing.T) {
	for _, pos := range []string{"", "u1", "1700000000000/shop:R-1", "a b/c"} {
		if got, err := DecodeCursor(EncodeCursor(pos)); err != nil || got != pos {
			t.Fatalf("round trip %q: %q, %v", pos, got, err)
		}
	}
	// The first two decode with base64's own decoder: it skips line breaks
	// and ignores the bits after the last character.
	for _, bad := range []string{"dT\rE", "dTF\n", "dTF=", "dTG", "!!"} {
		if _, err := DecodeCursor(bad); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("cursor %q: err %v, want ErrBadCursor", bad, err)
		}
	}
}

// FuzzDecodeCursor: a cursor is accepted only as EncodeCursor writes it.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(EncodeCursor("u1"))
	f.Add("X\r00")
	f.Fuzz(func(t *testing.T, cursor string) {
		pos, err := DecodeCursor(cursor)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("error %v does not wrap ErrBadCursor", err)
			}
			return
		}
		if EncodeCursor(pos) != cursor {
			t.Fatalf("cursor %q accepted as %q, which encodes as %q", cursor, pos, EncodeCursor(pos))
		}
	})
}
