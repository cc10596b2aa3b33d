package points

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
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
		{Method: http.MethodPost, Path: "/v1/points/commands", Scope: schemas.ScopeWrite, Users: users, Handle: rs.batch},
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
	if err := rs.writable(); err != nil {
		return err
	}
	b, err := rs.b.Codec.Encode(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", topic, err)
	}
	return rs.produceAll(ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: b})
}

// writable refuses writes on an API without Kafka.
func (rs *routes) writable() error {
	if rs.b.Kafka == nil {
		return api.Unavailable("this API takes no writes (no Kafka)", nil)
	}
	return nil
}

// produceAll writes records and waits for Kafka to hold them all.
func (rs *routes) produceAll(ctx context.Context, recs ...*kgo.Record) error {
	if err := rs.writable(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, rs.b.Config.BackendTimeout)
	defer cancel()
	if err := rs.b.Kafka.ProduceSync(ctx, recs...).FirstErr(); err != nil {
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
	return decodeUpTo(w, r, v, maxBody)
}

// decodeUpTo is decode with a body of up to limit bytes.
func decodeUpTo(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if err := api.CheckContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	if err := api.DecodeJSON(http.MaxBytesReader(w, r.Body, limit), v); err != nil {
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
