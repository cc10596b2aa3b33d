package points

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/crypto/bcrypt"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/internal/kafkatable"
	"github.com/rationhq/ration/schemas"
)

const (
	// SecretEnv names the environment variable that holds the secret the
	// API signs users' tokens with. API processes that share it accept
	// each other's tokens; without it, each process makes its own.
	SecretEnv = "RATION_POINTS_SECRET"
	// TokenTTL is how long a login lasts.
	TokenTTL = time.Hour
	// OutcomeWait is how long a command's request waits for the ledger's
	// decision before it answers 202 and where to poll.
	OutcomeWait = 2 * time.Second
	// lookupWait bounds the wait for a user or item written on another
	// API process a moment ago.
	lookupWait = 2 * time.Second
	// The history's page sizes.
	DefaultPageSize = 100
	MaxPageSize     = 10_000
	// maxLines, maxQuantity, maxPoints and maxPrice bound what one command
	// may ask, so that no sum overflows.
	maxLines    = 100
	maxQuantity = 10_000
	maxPoints   = 1_000_000_000
	maxPrice    = 1_000_000_000 // cents
)

// routes serve the points API.
type routes struct {
	b         api.Backends
	tokens    *Tokens
	users     *kafkatable.Table[User]
	catalogue *kafkatable.Table[Item]
	outcomes  *outcomes
	reader    *Reader // nil without ClickHouse
	log       *slog.Logger
	now       func() time.Time
}

// Routes returns the points pipeline's HTTP routes over b. They follow the
// users, the catalogue and the ledger's outcomes: b.Tasks runs the
// followers.
func Routes(b api.Backends) ([]api.Route, error) {
	rs := &routes{b: b, users: kafkatable.NewTable[User](), catalogue: kafkatable.NewTable[Item](), outcomes: newOutcomes(),
		log: b.Log, now: time.Now}
	if rs.log == nil {
		rs.log = slog.New(slog.DiscardHandler)
	}
	rs.log = rs.log.With("component", "api", "pipeline", Name)
	secret := []byte(os.Getenv(SecretEnv))
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
		if b.Tasks != nil {
			rs.log.Warn("points: " + SecretEnv + " is not set: users' tokens work on this API process only")
		}
	}
	tokens, err := NewTokens(secret, TokenTTL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SecretEnv, err)
	}
	rs.tokens = tokens
	if b.ClickHouse != nil {
		if rs.reader, err = NewReader(b.ClickHouse, b.Database); err != nil {
			return nil, err
		}
	}
	if b.Tasks != nil {
		for _, f := range []*kafkatable.Follower{
			rs.users.Follow(TopicUsers, decoder[User](b.Codec), rs.log, b.KafkaOpts...),
			rs.catalogue.Follow(TopicCatalogue, decoder[Item](b.Codec), rs.log, b.KafkaOpts...),
			rs.outcomes.follower(b.Codec, rs.log, b.KafkaOpts...),
		} {
			b.Tasks.Go(f.Run, f.Ready())
		}
	}
	users := rs.tokens
	return []api.Route{
		{Method: http.MethodPost, Path: "/v1/points/users", Scope: schemas.ScopeWrite, Handle: rs.createUser},
		{Method: http.MethodPost, Path: "/v1/points/login", Scope: api.Public, Handle: rs.login},
		{Method: http.MethodGet, Path: "/v1/points/me", Scope: schemas.ScopeRead, Users: users, Handle: rs.me},
		{Method: http.MethodGet, Path: "/v1/points/users/{id}", Scope: schemas.ScopeRead, Users: users, Handle: rs.getUser},
		{Method: http.MethodGet, Path: "/v1/points/users/{id}/history", Scope: schemas.ScopeRead, Users: users, Handle: rs.userHistory},
		{Method: http.MethodGet, Path: "/v1/points/catalogue", Scope: schemas.ScopeRead, Users: users, Handle: rs.listCatalogue},
		{Method: http.MethodPut, Path: "/v1/points/catalogue/{item_id}", Scope: schemas.ScopeAdmin, Handle: rs.putItem},
		{Method: http.MethodPost, Path: "/v1/points/groups", Scope: schemas.ScopeWrite, Users: users, Handle: rs.createGroup},
		{Method: http.MethodGet, Path: "/v1/points/groups/{id}", Scope: schemas.ScopeRead, Users: users, Handle: rs.getGroup},
		{Method: http.MethodGet, Path: "/v1/points/groups/{id}/history", Scope: schemas.ScopeRead, Users: users, Handle: rs.groupHistory},
		{Method: http.MethodPost, Path: "/v1/points/groups/{id}/members", Scope: schemas.ScopeWrite, Users: users, Handle: rs.join},
		{Method: http.MethodGet, Path: "/v1/points/groups/{id}/commands/{command_id}", Scope: schemas.ScopeRead, Users: users, Handle: rs.getCommand},
		{Method: http.MethodPost, Path: "/v1/points/bills", Scope: schemas.ScopeWrite, Users: users, Handle: rs.bill},
		{Method: http.MethodPost, Path: "/v1/points/redemptions", Scope: schemas.ScopeWrite, Users: users, Handle: rs.redeem},
	}, nil
}

// decoder decodes a topic's values into V's.
func decoder[V any, P interface {
	*V
	schemas.Record
}](codec *schemas.Codec) func([]byte) (V, error) {
	return func(b []byte) (V, error) {
		var v V
		err := codec.Decode(b, P(&v))
		return v, err
	}
}

// produce writes one record and waits for Kafka to hold it.
func (rs *routes) produce(ctx context.Context, topic, key string, v schemas.Record) error {
	if rs.b.Kafka == nil {
		return api.Unavailable("this API takes no writes (no Kafka)", nil)
	}
	b, err := rs.b.Codec.Encode(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", topic, err)
	}
	ctx, cancel := context.WithTimeout(ctx, rs.b.Config.BackendTimeout)
	defer cancel()
	if err := rs.b.Kafka.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: b}).FirstErr(); err != nil {
		return api.Unavailable("it could not be stored; send it again", err)
	}
	return nil
}

// maxBody bounds a request's body: the largest, a bill of 100 lines, is a
// few kB.
const maxBody = 64 << 10

// decode reads r's JSON body into v: 415 for another content type, 413
// past maxBody, 400 for anything but one JSON object of v's fields.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if err := api.CheckContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	if err := api.DecodeJSON(http.MaxBytesReader(w, r.Body, maxBody), v); err != nil {
		return err
	}
	return nil
}

// caller returns the user who made r: 401 for a caller that is not one.
func caller(r *http.Request) (string, error) {
	if u, ok := userOf(api.Caller(r)); ok {
		return u, nil
	}
	return "", api.Errorf(http.StatusUnauthorized, "this needs a user's token: POST /v1/points/login, then Authorization: Bearer TOKEN")
}

// user returns user id, waiting a moment for one created on another API
// process.
func (rs *routes) user(ctx context.Context, id string) (User, bool) {
	ctx, cancel := context.WithTimeout(ctx, lookupWait)
	defer cancel()
	return rs.users.Wait(ctx, id)
}

// text checks a required piece of text.
func text(field, s string, max int) *api.Error {
	if strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > max || !utf8.ValidString(s) {
		return api.Errorf(http.StatusUnprocessableEntity, "%s must be 1 to %d characters", field, max)
	}
	return nil
}

func (rs *routes) createUser(w http.ResponseWriter, r *http.Request) error {
	var in ration.PointsNewUser
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := text("name", in.Name, 100); err != nil {
		return err
	}
	if len(in.Password) < 8 || len(in.Password) > 72 {
		return api.Errorf(http.StatusUnprocessableEntity, "password must be 8 to 72 bytes")
	}
	prefix, ok := Regions[in.Region]
	if !ok {
		return api.Errorf(http.StatusUnprocessableEntity, "region must be R1, R2 or R3, not %q", api.Clip(in.Region, 20))
	}
	if in.Staff && api.Caller(r).Scope != schemas.ScopeAdmin {
		return api.Errorf(http.StatusForbidden, "only an admin creates staff")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	u := User{UserID: newID(prefix, 6), Name: in.Name, Region: in.Region, Staff: in.Staff, PasswordHash: string(hash),
		CreatedAt: rs.now().UTC().Truncate(time.Millisecond)}
	for _, taken := rs.users.Get(u.UserID); taken; _, taken = rs.users.Get(u.UserID) {
		u.UserID = newID(prefix, 6)
	}
	if err := rs.produce(r.Context(), TopicUsers, u.UserID, &u); err != nil {
		return err
	}
	rs.users.Put(u.UserID, u)
	rs.log.Info("user created", "user", u.UserID, "region", u.Region, "staff", u.Staff, "by", api.Caller(r).Name)
	api.WriteJSON(w, http.StatusCreated, map[string]string{"user_id": u.UserID})
	return nil
}

func (rs *routes) login(w http.ResponseWriter, r *http.Request) error {
	var in ration.PointsLogin
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, ok := rs.user(r.Context(), in.UserID)
	if !ok || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(in.Password)) != nil {
		rs.log.Warn("login refused", "user", api.Clip(in.UserID, 20))
		return api.Errorf(http.StatusUnauthorized, "wrong user id or password")
	}
	token, exp := rs.tokens.Issue(u.UserID)
	api.WriteJSON(w, http.StatusOK, ration.PointsSession{Token: token, ExpiresAt: ration.Timestamp{Time: exp.UTC()},
		UserID: u.UserID, Name: u.Name, Staff: u.Staff})
	return nil
}

// mayRead says whether the caller of r may read what belongs to user id:
// the user, or an API client.
func mayRead(r *http.Request, id string) bool {
	u, isUser := userOf(api.Caller(r))
	return !isUser || u == id
}

// me answers the caller's own user and groups: who a token is.
func (rs *routes) me(w http.ResponseWriter, r *http.Request) error {
	id, err := caller(r)
	if err != nil {
		return err
	}
	return rs.answerUser(w, r, id)
}

func (rs *routes) getUser(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !mayRead(r, id) {
		return api.Errorf(http.StatusNotFound, "no user %q", api.Clip(id, 20))
	}
	return rs.answerUser(w, r, id)
}

// answerUser answers user id and their groups.
func (rs *routes) answerUser(w http.ResponseWriter, r *http.Request, id string) error {
	u, ok := rs.user(r.Context(), id)
	if !ok {
		return api.Errorf(http.StatusNotFound, "no user %q", api.Clip(id, 20))
	}
	out := ration.PointsUser{UserID: u.UserID, Name: u.Name, Region: u.Region, Staff: u.Staff,
		CreatedAt: ration.Timestamp{Time: u.CreatedAt}, Groups: []ration.PointsGroup{}}
	if rs.reader == nil {
		return api.Unavailable("groups cannot be read here (no ClickHouse)", nil)
	}
	ids, err := rs.reader.UserGroups(r.Context(), id)
	if err == nil {
		out.Groups, err = rs.reader.Groups(r.Context(), ids)
	}
	if err != nil {
		return api.Unavailable("groups cannot be read now (ClickHouse)", err)
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

// page reads ?limit and ?cursor.
func page(r *http.Request) (limit int, cursor string, err error) {
	limit = DefaultPageSize
	if s := r.URL.Query().Get("limit"); s != "" {
		if _, err := fmt.Sscan(s, &limit); err != nil || limit < 1 || limit > MaxPageSize {
			return 0, "", api.BadRequest("limit must be 1 to %d", MaxPageSize)
		}
	}
	return limit, r.URL.Query().Get("cursor"), nil
}

// history answers a page of entries.
func (rs *routes) history(w http.ResponseWriter, r *http.Request, read func(context.Context, string, int) (ration.PointsHistory, error)) error {
	limit, cursor, err := page(r)
	if err != nil {
		return err
	}
	if rs.reader == nil {
		return api.Unavailable("history cannot be read here (no ClickHouse)", nil)
	}
	h, err := read(r.Context(), cursor, limit)
	if errors.Is(err, ErrBadCursor) {
		return api.BadRequest("%v", err)
	}
	if err != nil {
		return api.Unavailable("history cannot be read now (ClickHouse)", err)
	}
	api.WriteJSON(w, http.StatusOK, h)
	return nil
}

func (rs *routes) userHistory(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !mayRead(r, id) {
		return api.Errorf(http.StatusNotFound, "no user %q", api.Clip(id, 20))
	}
	return rs.history(w, r, func(ctx context.Context, cursor string, limit int) (ration.PointsHistory, error) {
		return rs.reader.UserHistory(ctx, id, cursor, limit)
	})
}

// group returns group id if the caller of r may read it: a member, or an
// API client.
func (rs *routes) group(r *http.Request, id string) (ration.PointsGroup, error) {
	if rs.reader == nil {
		return ration.PointsGroup{}, api.Unavailable("groups cannot be read here (no ClickHouse)", nil)
	}
	g, err := rs.reader.Group(r.Context(), id)
	notFound := api.Errorf(http.StatusNotFound, "no group %q", api.Clip(id, 40))
	switch {
	case errors.Is(err, ErrNotFound):
		return g, notFound
	case err != nil:
		return g, api.Unavailable("groups cannot be read now (ClickHouse)", err)
	}
	if u, isUser := userOf(api.Caller(r)); isUser && !(&Group{Members: g.Members}).member(u) {
		return g, notFound
	}
	return g, nil
}

func (rs *routes) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := rs.group(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, g)
	return nil
}

func (rs *routes) groupHistory(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := rs.group(r, id); err != nil {
		return err
	}
	return rs.history(w, r, func(ctx context.Context, cursor string, limit int) (ration.PointsHistory, error) {
		return rs.reader.GroupHistory(ctx, id, cursor, limit)
	})
}

func (rs *routes) listCatalogue(w http.ResponseWriter, _ *http.Request) error {
	items := rs.catalogue.Values()
	out := make([]ration.PointsItem, len(items))
	for i, it := range items {
		out[i] = itemView(it)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func itemView(it Item) ration.PointsItem {
	v := ration.PointsItem{ItemID: it.ItemID, Name: it.Name, Price: units(it.Price), Points: it.Points}
	if it.Discount.Percent > 0 {
		d := ration.PointsDiscount(it.Discount)
		v.Discount = &d
	}
	return v
}

func (rs *routes) putItem(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("item_id")
	if !auth.ValidName(id) {
		return api.Errorf(http.StatusUnprocessableEntity, "an item id is a letter or digit, then up to 63 letters, digits, '.', '_' or '-'")
	}
	var in ration.PointsItem
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := text("name", in.Name, 100); err != nil {
		return err
	}
	cents := math.Round(in.Price * 100)
	if in.Price < 0 || cents > maxPrice || math.Abs(in.Price*100-cents) > 1e-6 {
		return api.Errorf(http.StatusUnprocessableEntity, "price must be 0 to %d, to the cent", maxPrice/100)
	}
	if in.Points < 0 || in.Points > maxPoints {
		return api.Errorf(http.StatusUnprocessableEntity, "points must be 0 to %d", maxPoints)
	}
	it := Item{ItemID: id, Name: in.Name, Price: int64(cents), Points: in.Points, UpdatedAt: rs.now().UTC().Truncate(time.Millisecond)}
	if d := in.Discount; d != nil {
		if d.Percent < 0 || d.Percent > 100 || d.MinMembers < 0 || d.MinBalance < 0 {
			return api.Errorf(http.StatusUnprocessableEntity, "a discount's percent is 0 to 100, its minimums at least 0")
		}
		it.Discount = Discount(*d)
	}
	if err := rs.produce(r.Context(), TopicCatalogue, id, &it); err != nil {
		return err
	}
	rs.catalogue.Put(id, it)
	rs.log.Info("catalogue item put", "item", id, "by", api.Caller(r).Name)
	api.WriteJSON(w, http.StatusOK, itemView(it))
	return nil
}

// commandID checks a client-chosen command id.
func commandID(id string) *api.Error {
	if !auth.ValidName(id) {
		return api.Errorf(http.StatusUnprocessableEntity,
			"command_id is required: a letter or digit, then up to 63 letters, digits, '.', '_' or '-' (a UUID will do)")
	}
	return nil
}

// digest is what identifies a request: the same command id with another
// request is refused.
func digest(parts ...any) string {
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (rs *routes) createGroup(w http.ResponseWriter, r *http.Request) error {
	user, err := caller(r)
	if err != nil {
		return err
	}
	var in ration.PointsNewGroup
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := text("name", in.Name, 100); err != nil {
		return err
	}
	if err := text("location", in.Location, 100); err != nil {
		return err
	}
	id := newID("g", 10)
	if in.CommandID != "" {
		if err := commandID(in.CommandID); err != nil {
			return err
		}
		// The same command again names the same group.
		sum := sha256.Sum256([]byte(CommandKey(user, in.CommandID)))
		id = "g-" + encodeID(sum[:], 10)
	} else {
		in.CommandID = "create-" + id
	}
	c := Command{Kind: KindCreate, GroupID: id, UserID: user, Name: in.Name, Location: in.Location,
		Digest: digest(KindCreate, in.Name, in.Location)}
	return rs.send(w, r, user, in.CommandID, &c, http.StatusCreated)
}

// encodeID writes b in idAlphabet, n characters.
func encodeID(b []byte, n int) string {
	out := make([]byte, n)
	for i := range out {
		out[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(out)
}

func (rs *routes) join(w http.ResponseWriter, r *http.Request) error {
	user, err := caller(r)
	if err != nil {
		return err
	}
	var in ration.PointsJoin
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			return err
		}
	}
	group := r.PathValue("id")
	if in.CommandID == "" {
		in.CommandID = "join-" + group // joining twice is joining once
	} else if err := commandID(in.CommandID); err != nil {
		return err
	}
	c := Command{Kind: KindJoin, GroupID: group, UserID: user, Digest: digest(KindJoin, group)}
	return rs.send(w, r, user, in.CommandID, &c, http.StatusOK)
}

func (rs *routes) bill(w http.ResponseWriter, r *http.Request) error {
	staff, err := caller(r)
	if err != nil {
		return err
	}
	if u, ok := rs.user(r.Context(), staff); !ok || !u.Staff {
		return api.Errorf(http.StatusForbidden, "only staff bill")
	}
	var in ration.PointsBill
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := commandID(in.CommandID); err != nil {
		return err
	}
	if _, ok := rs.user(r.Context(), in.UserID); !ok {
		return api.Errorf(http.StatusUnprocessableEntity, "no user %q", api.Clip(in.UserID, 20))
	}
	if len(in.Items) == 0 || len(in.Items) > maxLines {
		return api.Errorf(http.StatusUnprocessableEntity, "a bill has 1 to %d items", maxLines)
	}
	lines := make([]Line, len(in.Items))
	var reasons []api.Reason
	for i, l := range in.Items {
		it, ok := rs.catalogue.Get(l.ItemID)
		path := fmt.Sprintf("/items/%d", i)
		switch {
		case !ok:
			reasons = append(reasons, api.Reason{Path: path + "/item_id", Message: fmt.Sprintf("no item %q in the catalogue", api.Clip(l.ItemID, 64))})
		case l.Quantity < 1 || l.Quantity > maxQuantity:
			reasons = append(reasons, api.Reason{Path: path + "/quantity", Message: fmt.Sprintf("quantity must be 1 to %d", maxQuantity)})
		}
		lines[i] = Line{ItemID: it.ItemID, Name: it.Name, Quantity: l.Quantity, Price: it.Price, Points: it.Points, Discount: it.Discount}
	}
	if len(reasons) > 0 {
		return api.Errorf(http.StatusUnprocessableEntity, "the bill names items that cannot be billed").WithReasons(reasons)
	}
	c := Command{Kind: KindBill, GroupID: in.GroupID, UserID: in.UserID, Lines: lines,
		Digest: digest(KindBill, in.GroupID, in.UserID, in.Items)}
	return rs.send(w, r, staff, in.CommandID, &c, http.StatusOK)
}

func (rs *routes) redeem(w http.ResponseWriter, r *http.Request) error {
	user, err := caller(r)
	if err != nil {
		return err
	}
	var in ration.PointsRedemption
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := commandID(in.CommandID); err != nil {
		return err
	}
	c := Command{Kind: KindRedeem, GroupID: in.GroupID, UserID: user, Digest: digest(KindRedeem, in.GroupID, in.ItemID, in.Points)}
	switch {
	case (in.ItemID == "") == (in.Points == 0):
		return api.Errorf(http.StatusUnprocessableEntity, "a redemption names an item_id or a number of points, not both")
	case in.ItemID != "":
		it, ok := rs.catalogue.Get(in.ItemID)
		if !ok {
			return api.Errorf(http.StatusUnprocessableEntity, "no item %q in the catalogue", api.Clip(in.ItemID, 64))
		}
		c.Lines = []Line{{ItemID: it.ItemID, Name: it.Name, Quantity: 1, Price: it.Price, Points: it.Points, Discount: it.Discount}}
	case in.Points < 0 || in.Points > maxPoints:
		return api.Errorf(http.StatusUnprocessableEntity, "points must be 1 to %d", maxPoints)
	default:
		c.Points = in.Points
	}
	return rs.send(w, r, user, in.CommandID, &c, http.StatusOK)
}

// send sends command c of issuer to its group's ledger and answers its
// outcome (applied with status, rejected 200 but for a member's or a
// group's absence), or 202 with where to poll when the ledger has not
// decided within OutcomeWait.
func (rs *routes) send(w http.ResponseWriter, r *http.Request, issuer, commandID string, c *Command, status int) error {
	if c.GroupID == "" || len(c.GroupID) > 64 {
		return api.Errorf(http.StatusUnprocessableEntity, "group_id is required")
	}
	c.ID, c.CommandID, c.Issuer = CommandKey(issuer, commandID), commandID, issuer
	c.SentAt = rs.now().UTC().Truncate(time.Millisecond)
	got, stop := rs.outcomes.wait(c.GroupID, c.ID)
	defer stop()
	if err := rs.produce(r.Context(), TopicCommands, c.GroupID, c); err != nil {
		return err
	}
	timer := time.NewTimer(OutcomeWait)
	defer timer.Stop()
	select {
	case o := <-got:
		return rs.answer(w, c, o, status)
	case <-timer.C:
	case <-r.Context().Done():
		return r.Context().Err()
	}
	poll := "/v1/points/groups/" + c.GroupID + "/commands/" + commandID
	w.Header().Set("Location", poll)
	api.WriteJSON(w, http.StatusAccepted, ration.PointsOutcome{CommandID: commandID, GroupID: c.GroupID, Kind: c.Kind,
		Outcome: ration.PointsPending, Poll: poll})
	return nil
}

// answer answers outcome o of command c.
func (rs *routes) answer(w http.ResponseWriter, c *Command, o Outcome, status int) error {
	if o.Digest != c.Digest {
		return api.Errorf(http.StatusConflict, "command_id %s was used for another command", api.Clip(c.CommandID, 64))
	}
	switch o.Reason {
	case ReasonNotMember:
		return api.Errorf(http.StatusForbidden, "%s is not a member of group %s", o.UserID, o.GroupID)
	case ReasonNoGroup:
		return api.Errorf(http.StatusNotFound, "no group %q", api.Clip(o.GroupID, 64))
	}
	if o.Outcome != Applied {
		status = http.StatusOK
	}
	rs.log.Info("points command", "kind", o.Kind, "group", o.GroupID, "id", o.ID, "outcome", o.Outcome,
		"reason", o.Reason, "points", o.Points, "balance", o.Balance, "repeat", o.Repeat)
	api.WriteJSON(w, status, outcomeView(o))
	return nil
}

func outcomeView(o Outcome) ration.PointsOutcome {
	return ration.PointsOutcome{CommandID: o.CommandID, GroupID: o.GroupID, Kind: o.Kind, Outcome: o.Outcome, Reason: o.Reason,
		Points: o.Points, Balance: o.Balance, Seq: o.Seq, Charged: units(o.Charged), Discount: units(o.Discount),
		Detail: o.Detail, Repeat: o.Repeat, At: ration.NewTimestamp(o.At)}
}

func (rs *routes) getCommand(w http.ResponseWriter, r *http.Request) error {
	user, err := caller(r)
	if err != nil {
		return err
	}
	group, id := r.PathValue("id"), r.PathValue("command_id")
	if rs.reader == nil {
		return api.Unavailable("commands cannot be read here (no ClickHouse)", nil)
	}
	o, err := rs.reader.Outcome(r.Context(), group, CommandKey(user, id))
	switch {
	case errors.Is(err, ErrNotFound):
		return api.Errorf(http.StatusNotFound, "no outcome of command %q yet: if you sent it, send it again with the same command_id",
			api.Clip(id, 64))
	case err != nil:
		return api.Unavailable("commands cannot be read now (ClickHouse)", err)
	}
	api.WriteJSON(w, http.StatusOK, outcomeView(o))
	return nil
}
