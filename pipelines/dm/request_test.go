package dm

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rationhq/ration"
)

func TestDecodeMarkDedupesInOrder(t *testing.T) {
	ids, p, err := decodeMark("application/json", strings.NewReader(`{"priority":"high","user_ids":["b","a","b","c","a"]}`), 10)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "b,a,c" || p != PriorityHigh {
		t.Fatalf("ids %v priority %q", ids, p)
	}
}

func TestInvalidIDsAreCounted(t *testing.T) {
	_, err := decodeRegister("", strings.NewReader(`{"user_ids":["ok","a b","","ok2","x/y"]}`), 10)
	if err == nil || !strings.Contains(err.Message(), "user_ids[1]") || !strings.Contains(err.Message(), "3 invalid ids") {
		t.Fatalf("err = %v", err)
	}
}

func TestHugeInvalidIDIsClipped(t *testing.T) {
	_, err := decodeRegister("", strings.NewReader(`{"user_ids":["`+strings.Repeat("z", 100_000)+`!"]}`), 10)
	if err == nil || len(err.Message()) > 300 {
		t.Fatalf("err message of %d bytes", len(err.Error()))
	}
}

// FuzzDecodeMark feeds arbitrary bodies to the request decoder: it must
// never panic, and what it accepts must satisfy every rule the API states.
func FuzzDecodeMark(f *testing.F) {
	for _, seed := range []string{
		`{"user_ids":["a","b"]}`,
		`{"user_ids":["a"],"priority":"high"}`,
		`{"user_ids":["a","a"],"priority":"normal"}`,
		`{"user_ids":["a"],"priority":null}`,
		`{"user_ids":[]}`,
		`{"user_ids":["a"]} {}`,
		`{"user_ids":["a"],"x":1}`,
		`{"USER_IDS":["a"]}`,
		`{"user_ids":["\u0000"]}`,
		`{"user_ids":["a"],"priority":"HIGH"}`,
		`[]`, `null`, ``, `{`, `"x"`,
	} {
		f.Add(seed)
	}
	const maxIDs, maxBody = 8, 512
	f.Fuzz(func(t *testing.T, body string) {
		r := http.MaxBytesReader(nil, io.NopCloser(strings.NewReader(body)), maxBody)
		ids, p, err := decodeMark("application/json", r, maxIDs)
		if err != nil {
			if err.Status() != http.StatusBadRequest && err.Status() != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d for %q", err.Status(), body)
			}
			if err.Message() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(body) > maxBody {
			t.Fatalf("accepted a body of %d bytes", len(body))
		}
		if len(ids) == 0 || len(ids) > maxIDs {
			t.Fatalf("accepted %d ids", len(ids))
		}
		if p != PriorityNormal && p != PriorityHigh {
			t.Fatalf("accepted priority %q", p)
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if !ration.UserIDPattern.MatchString(id) || seen[id] {
				t.Fatalf("accepted id %q (duplicate: %v)", id, seen[id])
			}
			seen[id] = true
		}
	})
}
