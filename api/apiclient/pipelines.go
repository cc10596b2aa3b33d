package apiclient

import (
	"context"
	"net/http"

	"github.com/rationhq/ration"
)

// Pipelines returns every pipeline stage's buckets: their owners, lag,
// rate, oldest waiting age and drain time (read).
func (c *Client) Pipelines(ctx context.Context) (ration.BucketsReport, error) {
	var r ration.BucketsReport
	err := c.do(ctx, http.MethodGet, "/v1/pipelines", nil, &r)
	return r, err
}
