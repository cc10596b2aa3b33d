package notify

import (
	"bufio"
	"bytes"
	"io"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzComposeEmail checks that no item field or batch id, however hostile,
// adds a header, splits an item over lines or makes a line too long for
// SMTP.
func FuzzComposeEmail(f *testing.F) {
	f.Add("run-1", "dmcheck", "u-1", "check", "timeout", 3, int64(1772600767089000000))
	f.Add("b\r\nBcc: x@example.com", "p\nX: 1", "u\r\n\r\n.\r\nQUIT", "s\r", "e\x00\x85\u2028", -1, int64(-1))
	f.Add("<a>@b", strings.Repeat("é", 100), strings.Repeat("x", 1000), "", strings.Repeat("\xff", 600), 1<<62, int64(1<<62))
	from := &mail.Address{Name: "Ration", Address: "ration@example.com"}
	to := []*mail.Address{{Address: "a@example.com"}, {Name: "Ops, Team", Address: "ops@example.com"}}
	wantKeys := []string{"Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
	f.Fuzz(func(t *testing.T, id, pipeline, itemID, stage, errText string, retries int, failedAt int64) {
		key := idempotencyKey(id)
		if key == "" {
			t.Skip("Notify refuses the batch")
		}
		it := Item{Pipeline: pipeline, ItemID: itemID, Stage: stage, Error: errText, RetryCount: retries, FailedAt: time.Unix(0, failedAt)}
		data := composeEmail(from, to, Batch{ID: id, Items: []Item{it, it}}, key, time.Unix(0, failedAt))

		for i, b := range data {
			if (b == '\n') != (i > 0 && data[i-1] == '\r') || (b == '\r') != (i+1 < len(data) && data[i+1] == '\n') {
				t.Fatalf("bare CR or LF at %d: %q", i, data)
			}
		}
		if !utf8.Valid(data) {
			t.Errorf("invalid UTF-8: %q", data)
		}
		for l := range bytes.SplitSeq(data, []byte("\r\n")) {
			if len(l) > 998 {
				t.Fatalf("line of %d bytes: %q", len(l), l)
			}
		}
		m, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatalf("does not parse: %v\n%q", err, data)
		}
		var keys []string
		for k := range m.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("headers %q, want %q", keys, wantKeys)
		}
		if got := m.Header.Get("Message-Id"); got != "<"+key+"@ration>" {
			t.Errorf("Message-ID %q, want <%s@ration>", got, key)
		}
		if got, err := m.Header.AddressList("To"); err != nil || len(got) != 2 {
			t.Errorf("To %v: %v", got, err)
		}
		body, _ := io.ReadAll(m.Body)
		lines := strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n")
		if len(lines) != 5 || !strings.HasPrefix(lines[3], "pipeline=") || lines[3] != lines[4] {
			t.Errorf("want intro, batch, blank and two item lines, got %q", lines)
		}
	})
}

func TestLineCuts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"a\r\nb\tc", 10, "a  b c"},
		{"abcdefghij", 10, "abcdefghij"},
		{"abcdefghijk", 10, "abcdefg…"},
		{"ééééé", 8, "éé…"},
		{"a\xffb", 10, "a\uFFFDb"},
	} {
		if got := line(tc.in, tc.max); got != tc.want || len(got) > tc.max {
			t.Errorf("line(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}
