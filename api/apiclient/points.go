package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/rationhq/ration"
)

// The points API. A user's calls take the user's token as the key:
// WithKey(session.Token).

// CreatePointsUser creates a user and returns their id.
func (c *Client) CreatePointsUser(ctx context.Context, u ration.PointsNewUser) (string, error) {
	var out struct {
		UserID string `json:"user_id"`
	}
	err := c.do(ctx, http.MethodPost, "/v1/points/users", u, &out)
	return out.UserID, err
}

// PointsLogin returns a token for user.
func (c *Client) PointsLogin(ctx context.Context, user, password string) (ration.PointsSession, error) {
	var s ration.PointsSession
	err := c.do(ctx, http.MethodPost, "/v1/points/login", ration.PointsLogin{UserID: user, Password: password}, &s)
	return s, err
}

// PointsUser returns a user and their groups.
func (c *Client) PointsUser(ctx context.Context, id string) (ration.PointsUser, error) {
	var u ration.PointsUser
	err := c.do(ctx, http.MethodGet, "/v1/points/users/"+url.PathEscape(id), nil, &u)
	return u, err
}

// PointsMe returns the user whose token the client holds, and their
// groups.
func (c *Client) PointsMe(ctx context.Context) (ration.PointsUser, error) {
	var u ration.PointsUser
	err := c.do(ctx, http.MethodGet, "/v1/points/me", nil, &u)
	return u, err
}

// PointsCatalogue returns the catalogue.
func (c *Client) PointsCatalogue(ctx context.Context) ([]ration.PointsItem, error) {
	var out struct {
		Items []ration.PointsItem `json:"items"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/points/catalogue", nil, &out)
	return out.Items, err
}

// PutPointsItem puts an item into the catalogue (admin).
func (c *Client) PutPointsItem(ctx context.Context, it ration.PointsItem) (ration.PointsItem, error) {
	var out ration.PointsItem
	err := c.do(ctx, http.MethodPut, "/v1/points/catalogue/"+url.PathEscape(it.ItemID), it, &out)
	return out, err
}

// CreatePointsGroup creates a group with the caller as its first member.
func (c *Client) CreatePointsGroup(ctx context.Context, g ration.PointsNewGroup) (ration.PointsOutcome, error) {
	return c.command(ctx, "/v1/points/groups", g)
}

// JoinPointsGroup joins the caller to group.
func (c *Client) JoinPointsGroup(ctx context.Context, group, commandID string) (ration.PointsOutcome, error) {
	return c.command(ctx, "/v1/points/groups/"+url.PathEscape(group)+"/members", ration.PointsJoin{CommandID: commandID})
}

// Bill bills a user (staff).
func (c *Client) Bill(ctx context.Context, b ration.PointsBill) (ration.PointsOutcome, error) {
	return c.command(ctx, "/v1/points/bills", b)
}

// Redeem spends a group's points.
func (c *Client) Redeem(ctx context.Context, r ration.PointsRedemption) (ration.PointsOutcome, error) {
	return c.command(ctx, "/v1/points/redemptions", r)
}

// PointsBatch sends commands of the caller at once and returns their
// outcomes in order; a pending one is sent again in a later batch (or
// polled).
func (c *Client) PointsBatch(ctx context.Context, b ration.PointsBatch) (ration.PointsBatchOutcomes, error) {
	var out ration.PointsBatchOutcomes
	err := c.do(ctx, http.MethodPost, "/v1/points/commands", b, &out)
	return out, err
}

// command sends a command and returns its outcome: applied, rejected, or
// pending (the ledger had not decided within the API's wait; ask
// PointsCommand, or send it again with the same command id).
func (c *Client) command(ctx context.Context, path string, in any) (ration.PointsOutcome, error) {
	var o ration.PointsOutcome
	err := c.do(ctx, http.MethodPost, path, in, &o)
	return o, err
}

// PointsCommand returns the outcome of the caller's command of group.
func (c *Client) PointsCommand(ctx context.Context, group, commandID string) (ration.PointsOutcome, error) {
	var o ration.PointsOutcome
	err := c.do(ctx, http.MethodGet, "/v1/points/groups/"+url.PathEscape(group)+"/commands/"+url.PathEscape(commandID), nil, &o)
	return o, err
}

// PointsGroup returns a group.
func (c *Client) PointsGroup(ctx context.Context, id string) (ration.PointsGroup, error) {
	var g ration.PointsGroup
	err := c.do(ctx, http.MethodGet, "/v1/points/groups/"+url.PathEscape(id), nil, &g)
	return g, err
}

// PointsGroupHistory returns a page of a group's ledger, newest first.
func (c *Client) PointsGroupHistory(ctx context.Context, id, cursor string, limit int) (ration.PointsHistory, error) {
	return c.history(ctx, "/v1/points/groups/"+url.PathEscape(id)+"/history", cursor, limit)
}

// PointsUserHistory returns a page of a user's ledger entries, newest
// first.
func (c *Client) PointsUserHistory(ctx context.Context, id, cursor string, limit int) (ration.PointsHistory, error) {
	return c.history(ctx, "/v1/points/users/"+url.PathEscape(id)+"/history", cursor, limit)
}

func (c *Client) history(ctx context.Context, path, cursor string, limit int) (ration.PointsHistory, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var h ration.PointsHistory
	err := c.do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &h)
	return h, err
}
