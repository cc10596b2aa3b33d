package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// webhook posts one JSON document per batch.
type webhook struct {
	url    string
	client *http.Client
}

// webhookBody is the JSON document a webhook receives.
type webhookBody struct {
	BatchID string        `json:"batch_id"`
	Items   []webhookItem `json:"items"`
}

type webhookItem struct {
	Pipeline   string `json:"pipeline"`
	ItemID     string `json:"item_id"`
	Stage      string `json:"stage"`
	RetryCount int    `json:"retry_count"`
	FailedAt   string `json:"failed_at"`
	Error      string `json:"error"`
}

// timeMillis is RFC 3339 with milliseconds, always three digits.
const timeMillis = "2006-01-02T15:04:05.000Z07:00"

func (w *webhook) name() string { return "webhook" }

func (w *webhook) send(ctx context.Context, b Batch, key string) error {
	body := webhookBody{BatchID: b.ID, Items: make([]webhookItem, len(b.Items))}
	for i, it := range b.Items {
		body.Items[i] = webhookItem{
			Pipeline:   it.Pipeline,
			ItemID:     it.ItemID,
			Stage:      it.Stage,
			RetryCount: it.RetryCount,
			FailedAt:   it.FailedAt.UTC().Format(timeMillis),
			Error:      it.Error,
		}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("User-Agent", "ration-notify")
	resp, err := w.client.Do(req)
	if err != nil {
		// The URL may hold the hook's secret (in its path or query).
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			ue.URL = redactURL(ue.URL)
		}
		return err
	}
	defer resp.Body.Close()
	// A little of the answer says why; the rest is drained so the
	// connection can be reused.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.TrimSpace(line(string(snippet), 200))
		if msg == "" {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return fmt.Errorf("status %d: %s", resp.StatusCode, msg)
	}
	return nil
}

// redactURL keeps a URL's scheme and host only: webhook services put their
// secret in the path (Slack, Discord), the query or the user info.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "REDACTED"
	}
	if u.User == nil && (u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.Fragment == "" {
		return u.Scheme + "://" + u.Host + u.Path
	}
	return u.Scheme + "://" + u.Host + "/REDACTED"
}
