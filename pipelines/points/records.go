package points

import (
	"embed"
	"slices"
	"time"

	"github.com/rationhq/ration/schemas"
)

//go:embed avro/*.avsc
var avsc embed.FS

var (
	userSchema    = schemas.MustSchema(avsc, "avro/user.avsc")
	itemSchema    = schemas.MustSchema(avsc, "avro/item.avsc")
	commandSchema = schemas.MustSchema(avsc, "avro/command.avsc")
	outcomeSchema = schemas.MustSchema(avsc, "avro/outcome.avsc")
	groupSchema   = schemas.MustSchema(avsc, "avro/group.avsc")
)

// User is a person of the points system.
type User struct {
	UserID       string    `avro:"user_id"`
	Name         string    `avro:"name"`
	Region       string    `avro:"region"`
	Staff        bool      `avro:"staff"`
	PasswordHash string    `avro:"password_hash"`
	CreatedAt    time.Time `avro:"created_at"`
}

// AvroSchema implements schemas.Record.
func (*User) AvroSchema() *schemas.Schema { return userSchema }

// Discount is what an entitled group's purchases of an item get off its
// price.
type Discount struct {
	Percent    int32 `avro:"percent" json:"percent"`
	MinMembers int32 `avro:"min_members" json:"min_members"`
	MinBalance int64 `avro:"min_balance" json:"min_balance"`
}

// entitles says whether g gets the discount.
func (d Discount) entitles(g *Group) bool {
	return d.Percent > 0 && len(g.Members) >= int(d.MinMembers) && g.Balance >= d.MinBalance
}

// Item is an item of the catalogue.
type Item struct {
	ItemID    string    `avro:"item_id"`
	Name      string    `avro:"name"`
	Price     int64     `avro:"price"`
	Points    int64     `avro:"points"`
	Discount  Discount  `avro:"discount"`
	UpdatedAt time.Time `avro:"updated_at"`
}

// AvroSchema implements schemas.Record.
func (*Item) AvroSchema() *schemas.Schema { return itemSchema }

// Line is one item of a bill or a redemption, as the catalogue had it when
// the API accepted the command.
type Line struct {
	ItemID   string   `avro:"item_id"`
	Name     string   `avro:"name"`
	Quantity int64    `avro:"quantity"`
	Price    int64    `avro:"price"`
	Points   int64    `avro:"points"`
	Discount Discount `avro:"discount"`
}

// Command is a command to a group's ledger.
type Command struct {
	ID        string    `avro:"id"`
	CommandID string    `avro:"command_id"`
	Issuer    string    `avro:"issuer"`
	Kind      string    `avro:"kind"`
	GroupID   string    `avro:"group_id"`
	UserID    string    `avro:"user_id"`
	Name      string    `avro:"name"`
	Location  string    `avro:"location"`
	Lines     []Line    `avro:"lines"`
	Points    int64     `avro:"points"`
	Digest    string    `avro:"digest"`
	SentAt    time.Time `avro:"sent_at"`
}

// AvroSchema implements schemas.Record.
func (*Command) AvroSchema() *schemas.Schema { return commandSchema }

// CommandKey is a command's id in ration: its issuer's and the issuer's
// own, so that one user's ids never meet another's.
func CommandKey(issuer, commandID string) string { return issuer + "/" + commandID }

// Outcome is the ledger's decision on a command.
type Outcome struct {
	ID        string    `avro:"id"`
	CommandID string    `avro:"command_id"`
	Issuer    string    `avro:"issuer"`
	Kind      string    `avro:"kind"`
	GroupID   string    `avro:"group_id"`
	UserID    string    `avro:"user_id"`
	Outcome   string    `avro:"outcome"`
	Reason    string    `avro:"reason"`
	Points    int64     `avro:"points"`
	Balance   int64     `avro:"balance"`
	Seq       int64     `avro:"seq"`
	Charged   int64     `avro:"charged"`
	Discount  int64     `avro:"discount"`
	Detail    string    `avro:"detail"`
	Digest    string    `avro:"digest"`
	At        time.Time `avro:"at"`
	Repeat    bool      `avro:"repeat"`
}

// AvroSchema implements schemas.Record.
func (*Outcome) AvroSchema() *schemas.Schema { return outcomeSchema }

// Group is a group after a change.
type Group struct {
	GroupID   string    `avro:"group_id"`
	Name      string    `avro:"name"`
	Location  string    `avro:"location"`
	Balance   int64     `avro:"balance"`
	Members   []string  `avro:"members"`
	Seq       int64     `avro:"seq"`
	CreatedAt time.Time `avro:"created_at"`
	UpdatedAt time.Time `avro:"updated_at"`
}

// AvroSchema implements schemas.Record.
func (*Group) AvroSchema() *schemas.Schema { return groupSchema }

// member says whether user belongs to g.
func (g *Group) member(user string) bool { return slices.Contains(g.Members, user) }
