package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/rationhq/ration"
)

// DeadLetters lists up to limit dead letters of pipeline (admin).
func (c *Client) DeadLetters(ctx context.Context, pipeline string, limit int) ([]ration.DeadLetter, error) {
	q := url.Values{"pipeline": {pipeline}}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Letters []ration.DeadLetter `json:"letters"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/dead?"+q.Encode(), nil, &out)
	return out.Letters, err
}

// ReplayDeadLetters sends pipeline's dead letters back to their topics
// (admin); with dryRun it only says how many there are.
func (c *Client) ReplayDeadLetters(ctx context.Context, pipeline string, dryRun bool) (ration.DeadLetterOutcome, error) {
	return c.actOnDead(ctx, "/v1/dead/replay", pipeline, dryRun)
}

// PurgeDeadLetters deletes pipeline's dead letters (admin).
func (c *Client) PurgeDeadLetters(ctx context.Context, pipeline string, dryRun bool) (ration.DeadLetterOutcome, error) {
	return c.actOnDead(ctx, "/v1/dead/purge", pipeline, dryRun)
}

func (c *Client) actOnDead(ctx context.Context, path, pipeline string, dryRun bool) (ration.DeadLetterOutcome, error) {
	var out ration.DeadLetterOutcome
	err := c.do(ctx, http.MethodPost, path, map[string]any{"pipeline": pipeline, "dry_run": dryRun}, &out)
	return out, err
}
