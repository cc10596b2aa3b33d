package ration

// The points API's requests and answers (/v1/points).

// PointsNewUser creates a user of the points system.
type PointsNewUser struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	// Region is the user's home region: R1, R2 or R3; their id carries
	// its prefix (001-, 002-, 003-).
	Region string `json:"region"`
	// Staff may bill users; only an admin creates staff.
	Staff bool `json:"staff"`
}

// PointsLogin asks for a token.
type PointsLogin struct {
	UserID   string `json:"user_id"`
	Password string `json:"password"`
}

// PointsSession is a token, sent as Authorization: Bearer, and its user.
type PointsSession struct {
	Token     string    `json:"token"`
	ExpiresAt Timestamp `json:"expires_at"`
	UserID    string    `json:"user_id"`
	Name      string    `json:"name"`
	Staff     bool      `json:"staff"`
}

// PointsDiscount is what a group entitled to it gets off an item's price:
// one with at least MinMembers members and a balance of at least
// MinBalance.
type PointsDiscount struct {
	Percent    int32 `json:"percent"`
	MinMembers int32 `json:"min_members"`
	MinBalance int64 `json:"min_balance"`
}

// PointsItem is an item of the catalogue. Buying one earns its group
// Points; redeeming one costs Points.
type PointsItem struct {
	ItemID string `json:"item_id"`
	Name   string `json:"name"`
	// Price is in the currency's units, to the cent.
	Price    float64         `json:"price"`
	Points   int64           `json:"points"`
	Discount *PointsDiscount `json:"discount,omitempty"`
}

// PointsNewGroup creates a group; its creator is its first member. A
// CommandID makes a retry create the same group, not another.
type PointsNewGroup struct {
	Name      string `json:"name"`
	Location  string `json:"location"`
	CommandID string `json:"command_id,omitempty"`
}

// PointsJoin joins the caller to a group.
type PointsJoin struct {
	CommandID string `json:"command_id,omitempty"`
}

// PointsBillLine is an item bought, and how many.
type PointsBillLine struct {
	ItemID   string `json:"item_id"`
	Quantity int64  `json:"quantity"`
}

// PointsBill bills a user for items against one of the user's groups,
// which earns the points (staff only).
type PointsBill struct {
	CommandID string           `json:"command_id"`
	UserID    string           `json:"user_id"`
	GroupID   string           `json:"group_id"`
	Items     []PointsBillLine `json:"items"`
}

// PointsRedemption spends a group's points: an item's, or a number.
type PointsRedemption struct {
	CommandID string `json:"command_id"`
	GroupID   string `json:"group_id"`
	ItemID    string `json:"item_id,omitempty"`
	Points    int64  `json:"points,omitempty"`
}

// The outcomes of a points command.
const (
	PointsApplied  = "applied"
	PointsRejected = "rejected"
	PointsPending  = "pending"
	// PointsConflict is a command of a batch whose command_id was used
	// for another command (alone, such a command is answered 409).
	PointsConflict = "conflict"
)

// PointsBatch is bills and redemptions of one caller sent at once
// (POST /v1/points/commands).
type PointsBatch struct {
	Commands []PointsBatchCommand `json:"commands"`
}

// PointsBatchCommand is one command of a batch: its kind, bill or redeem,
// and the fields of a PointsBill or of a PointsRedemption.
type PointsBatchCommand struct {
	Kind      string           `json:"kind"`
	CommandID string           `json:"command_id"`
	GroupID   string           `json:"group_id"`
	UserID    string           `json:"user_id,omitempty"`
	Items     []PointsBillLine `json:"items,omitempty"`
	ItemID    string           `json:"item_id,omitempty"`
	Points    int64            `json:"points,omitempty"`
}

// PointsBatchOutcomes answers a batch: each command's outcome, in the
// batch's order.
type PointsBatchOutcomes struct {
	Outcomes []PointsOutcome `json:"outcomes"`
}

// PointsOutcome is what the ledger decided for a command, or, while it
// has not (after the API waited 2 s), "pending" and where to ask again.
type PointsOutcome struct {
	CommandID string `json:"command_id"`
	GroupID   string `json:"group_id"`
	Kind      string `json:"kind,omitempty"`
	// Outcome is applied, rejected or pending (or, in a batch, conflict).
	Outcome string `json:"outcome"`
	// Reason says why it was rejected: no_group, not_member,
	// insufficient_points, balance_overflow.
	Reason string `json:"reason,omitempty"`
	// Points is the change of the group's balance, Balance the balance
	// after the command (a rejected one leaves it as it was).
	Points  int64 `json:"points"`
	Balance int64 `json:"balance"`
	// Seq is the command's ledger entry number in its group.
	Seq int64 `json:"seq,omitempty"`
	// Charged and Discount are a bill's amounts, in currency units.
	Charged  float64 `json:"charged,omitempty"`
	Discount float64 `json:"discount,omitempty"`
	Detail   string  `json:"detail,omitempty"`
	// Repeat says the command was decided before; this is that decision.
	Repeat bool       `json:"repeat,omitempty"`
	At     *Timestamp `json:"at,omitempty"`
	// Poll is where to ask for a pending command's outcome.
	Poll string `json:"poll,omitempty"`
}

// PointsGroup is a group and its balance.
type PointsGroup struct {
	GroupID   string    `json:"group_id"`
	Name      string    `json:"name"`
	Location  string    `json:"location"`
	Balance   int64     `json:"balance"`
	Members   []string  `json:"members"`
	Seq       int64     `json:"seq"`
	CreatedAt Timestamp `json:"created_at"`
	UpdatedAt Timestamp `json:"updated_at"`
}

// PointsEntry is an entry of a group's ledger: who earned or spent what,
// in which group, when.
type PointsEntry struct {
	GroupID   string    `json:"group_id"`
	Seq       int64     `json:"seq"`
	At        Timestamp `json:"at"`
	Kind      string    `json:"kind"`
	CommandID string    `json:"command_id"`
	Issuer    string    `json:"issuer"`
	UserID    string    `json:"user_id"`
	Points    int64     `json:"points"`
	Balance   int64     `json:"balance"`
	Charged   float64   `json:"charged,omitempty"`
	Discount  float64   `json:"discount,omitempty"`
	Detail    string    `json:"detail"`
}

// PointsHistory is a page of ledger entries, newest first.
type PointsHistory struct {
	Entries    []PointsEntry `json:"entries"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// PointsUser is a user and their groups.
type PointsUser struct {
	UserID    string        `json:"user_id"`
	Name      string        `json:"name"`
	Region    string        `json:"region"`
	Staff     bool          `json:"staff"`
	CreatedAt Timestamp     `json:"created_at"`
	Groups    []PointsGroup `json:"groups"`
}
