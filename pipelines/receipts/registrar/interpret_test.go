package registrar

import (
	"errors"
	"strings"
	"testing"

	"github.com/rationhq/ration/processor"
)

// TestInterpret: how the Client reads every kind of answer.
func TestInterpret(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		reply  string
		number string
		class  error  // nil for success
		msg    string // in the error
	}{
		{"created", 201, `{"registration_number":"TAX-1"}`, "TAX-1", nil, ""},
		{"replayed", 200, `{"registration_number":"TAX-1"}`, "TAX-1", nil, ""},
		{"success without a number", 200, `{}`, "", processor.ErrPermanent, "without a registration number"},
		{"success without JSON", 200, `ok`, "", processor.ErrPermanent, `"ok"`},
		{"bad request", 400, `{"error":"body: client: missing"}`, "", processor.ErrPermanent, "body: client: missing"},
		{"key reused", 422, `{"error":"idempotency key reused with a different body"}`, "", processor.ErrPermanent, "idempotency key reused"},
		{"not found", 404, "404 page not found\n", "", processor.ErrPermanent, "404 page not found"},
		{"too many requests", 429, `{"error":"slow down"}`, "", processor.ErrTransient, "slow down"},
		{"server error", 500, ``, "", processor.ErrTransient, "500 Internal Server Error"},
		{"bad gateway page", 502, "<html>" + strings.Repeat("x", 1000) + "</html>", "", processor.ErrTransient, "<html>xxx"},
		{"unavailable", 503, `{"error":"simulated failure"}`, "", processor.ErrTransient, "simulated failure"},
		{"redirect left", 304, ``, "", processor.ErrPermanent, "304"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := interpret(tc.status, []byte(tc.reply))
			if tc.class == nil {
				if err != nil || n != tc.number {
					t.Fatalf("%q, %v; want %q", n, err, tc.number)
				}
				return
			}
			other := processor.ErrTransient
			if tc.class == processor.ErrTransient {
				other = processor.ErrPermanent
			}
			if n != "" || !errors.Is(err, tc.class) || errors.Is(err, other) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("%q, %v; want an error marked %v containing %q", n, err, tc.class, tc.msg)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("error of %d bytes: the answer should be cut", len(err.Error()))
			}
		})
	}
}

// TestNewRefusesBadSettings: a client is made with a usable URL and a
// positive timeout only.
func TestNewRefusesBadSettings(t *testing.T) {
	for _, url := range []string{"", "127.0.0.1:8091", "ftp://h", "http://", "http://h?x=1", "http://h/%zz"} {
		if _, err := New(url, nil); err == nil {
			t.Errorf("New(%q) took it", url)
		}
	}
	if _, err := New("http://h", nil, Timeout(0)); err == nil {
		t.Error("New took a timeout of 0")
	}
	c, err := New("http://h:1/base/", nil)
	if err != nil || c.url != "http://h:1/base/v1/registrations" {
		t.Fatalf("New: %+v, %v", c, err)
	}
}
