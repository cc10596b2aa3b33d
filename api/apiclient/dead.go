package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/reprocess"
)

// DeadLetters lists up to limit dead letters of pipeline, or with parked
// its parked items (admin).
func (c *Client) DeadLetters(ctx context.Context, pipeline string, parked bool, limit int) ([]ration.DeadLetter, error) {
	q := url.Values{"pipeline": {pipeline}, "parked": {strconv.FormatBool(parked)}}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Letters []ration.DeadLetter `json:"letters"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/dead?"+q.Encode(), nil, &out)
	return out.Letters, err
}

// ReplayDeadLetters sends pipeline's dead letters (or parked items) back to
// their topics (admin); with dryRun it only says how many there are.
func (c *Client) ReplayDeadLetters(ctx context.Context, pipeline string, parked, dryRun bool) (ration.DeadLetterOutcome, error) {
	return c.actOnDead(ctx, "/v1/dead/replay", pipeline, parked, dryRun)
}

// PurgeDeadLetters deletes pipeline's dead letters (or parked items)
// (admin).
func (c *Client) PurgeDeadLetters(ctx context.Context, pipeline string, parked, dryRun bool) (ration.DeadLetterOutcome, error) {
	return c.actOnDead(ctx, "/v1/dead/purge", pipeline, parked, dryRun)
}

func (c *Client) actOnDead(ctx context.Context, path, pipeline string, parked, dryRun bool) (ration.DeadLetterOutcome, error) {
	var out ration.DeadLetterOutcome
	err := c.do(ctx, http.MethodPost, path, map[string]any{"pipeline": pipeline, "parked": parked, "dry_run": dryRun}, &out)
	return out, err
}

// Reprocess runs the reprocessor now (admin) and returns its report.
func (c *Client) Reprocess(ctx context.Context, req ReprocessRequest) (reprocess.Report, error) {
	var out reprocess.Report
	err := c.do(ctx, http.MethodPost, "/v1/reprocess/runs", req, &out)
	return out, err
}

// ReprocessRequest narrows a reprocessing run.
type ReprocessRequest struct {
	DryRun   bool   `json:"dry_run"`
	Pipeline string `json:"pipeline,omitempty"`
	Status   string `json:"status,omitempty"`
	Since    string `json:"since,omitempty"` // RFC 3339
}
