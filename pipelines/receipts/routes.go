package receipts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/pipelines/receipts/receipttype"
	"github.com/rationhq/ration/schemas"
)

// The receipts API's page sizes (RC-8).
const (
	DefaultPageSize = 1_000
	MaxPageSize     = 10_000
	// DefaultPeriod is the period a list covers without ?from.
	DefaultPeriod = 30 * 24 * time.Hour
	// typeWait bounds how long PUT and DELETE of a type wait for the
	// change to be in force on the process that answers.
	typeWait = 5 * time.Second
)

// routes serve the receipts API: submitting receipts and reading them
// (a client reads its own, an admin every client's), and managing their
// types (admins).
type routes struct {
	b       api.Backends
	types   *receipttype.Registry
	recent  *recent
	live    *live
	reader  *Reader  // nil without ClickHouse
	repeats *repeats // nil without ClickHouse
	log     *slog.Logger
	now     func() time.Time
}

// Routes returns the receipts pipeline's HTTP routes over b. They follow
// the types topic, the receipts received lately, and the statuses and
// events of those on their way: b.Tasks runs the followers (without Tasks
// the routes know no type and no recent receipt, which only listing the
// routes can do with).
func Routes(b api.Backends) ([]api.Route, error) {
	rs := &routes{b: b, types: receipttype.NewRegistry(), recent: newRecent(recentWindow), live: newLive(liveWindow),
		log: b.Log, now: time.Now}
	if rs.log == nil {
		rs.log = slog.New(slog.DiscardHandler)
	}
	rs.log = rs.log.With("component", "api", "pipeline", Name)
	if b.ClickHouse != nil {
		r, err := NewReader(b.ClickHouse, b.Database)
		if err != nil {
			return nil, err
		}
		rs.reader = r
		rs.repeats = newRepeats(r.digests, b.Config.BackendTimeout, queryGap)
	}
	if b.Tasks != nil {
		types := rs.types.Follow(TopicTypes, b.Codec, rs.log, b.KafkaOpts...)
		b.Tasks.Go(types.Run, types.Ready())
		recent := rs.recent.follower(b.Codec, rs.log, b.KafkaOpts...)
		b.Tasks.Go(recent.Run, recent.Ready())
		for _, f := range rs.live.followers(b.Codec, rs.log, b.KafkaOpts...) {
			b.Tasks.Go(f.Run, f.Ready())
		}
	}
	return []api.Route{
		{Method: http.MethodPost, Path: "/v1/receipts", Scope: schemas.ScopeWrite, Handle: rs.submit},
		{Method: http.MethodGet, Path: "/v1/receipts", Scope: schemas.ScopeRead, Handle: rs.list},
		{Method: http.MethodGet, Path: "/v1/receipts/{id}", Scope: schemas.ScopeRead, Handle: rs.get},
		{Method: http.MethodGet, Path: "/v1/receipts/{id}/document", Scope: schemas.ScopeRead, Handle: rs.document},
		{Method: http.MethodGet, Path: "/v1/receipt-types", Scope: schemas.ScopeRead, Handle: rs.listTypes},
		{Method: http.MethodGet, Path: "/v1/receipt-types/{name}", Scope: schemas.ScopeRead, Handle: rs.getType},
		{Method: http.MethodPut, Path: "/v1/receipt-types/{name}", Scope: schemas.ScopeAdmin, Handle: rs.putType},
		{Method: http.MethodDelete, Path: "/v1/receipt-types/{name}", Scope: schemas.ScopeAdmin, Handle: rs.deleteType},
	}, nil
}

// submitted is the answer to a POST of a receipt.
type submitted struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
}

// submit accepts a receipt: 202 once Kafka holds it; 200 with its status
// for the same receipt again; 409 for another body under its id.
func (rs *routes) submit(w http.ResponseWriter, r *http.Request) error {
	if rs.b.Kafka == nil {
		return api.Unavailable("this API takes no receipts (no Kafka)", nil)
	}
	sub, err := Read(r.Header.Get("Content-Type"), http.MaxBytesReader(w, r.Body, MaxBody+1), rs.types)
	if err != nil {
		return err
	}
	caller := api.Caller(r)
	id := ID(caller.Name, sub.ReceiptID)
	if known, status, err := rs.known(r.Context(), caller.Name, id); err != nil {
		return err
	} else if known != "" {
		if known != sub.Digest {
			return api.Errorf(http.StatusConflict, "receipt %s was sent before with another body", id)
		}
		api.WriteJSON(w, http.StatusOK, submitted{ID: id, Status: status})
		return nil
	}
	value, err := sub.JSON()
	if err != nil {
		return fmt.Errorf("receipt %s: %w", id, err)
	}
	rc := Receipt{ID: id, Client: caller.Name, ReceiptID: sub.ReceiptID, Type: sub.Type, ContentType: sub.ContentType,
		Value: string(value), Digest: sub.Digest, ReceivedAt: rs.now().UTC().Truncate(time.Millisecond)}
	if sub.ContentType != ContentJSON {
		rc.Document = sub.Document // a JSON receipt's Value is its bytes (Receipt.Sent)
	}
	b, err := rs.b.Codec.Encode(&rc)
	if err != nil {
		return fmt.Errorf("encode receipt %s: %w", id, err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), rs.b.Config.BackendTimeout)
	defer cancel()
	if err := rs.b.Kafka.ProduceSync(ctx, &kgo.Record{Topic: TopicReceived, Key: []byte(id), Value: b}).FirstErr(); err != nil {
		return api.Unavailable("the receipt could not be stored; send it again", err)
	}
	rs.recent.add(id, recentEntry{Type: rc.Type, Digest: rc.Digest, ReceivedAt: rc.ReceivedAt})
	// Kafka holds every receipt, and a line each costs a write at
	// thousands a second: the line is for debugging.
	rs.log.Debug("receipt received", "id", id, "type", rc.Type, "bytes", len(sub.Document))
	api.WriteJSON(w, http.StatusAccepted, submitted{ID: id, Status: StatusReceived})
	return nil
}

// known returns the digest and status of receipt id if it was received
// before: lately (the index), or long ago (the read model).
func (rs *routes) known(ctx context.Context, client, id string) (digest string, status Status, err error) {
	if e, ok := rs.recent.get(id); ok {
		return e.Digest, rs.recentStatus(ctx, client, id), nil
	}
	if rs.repeats == nil {
		return "", "", nil
	}
	digest, status, err = rs.repeats.lookup(ctx, client, id)
	if err != nil {
		return "", "", api.Unavailable("receipts cannot be checked for repeats now (ClickHouse)", err)
	}
	return digest, status, nil
}

// recentStatus is the status of a receipt received lately: what Kafka
// says of it (onItsWay), or else the read model's (RECEIVED if it has
// none, or cannot be asked). A client that sends a receipt again because
// its POST timed out does so when the stack is behind, ClickHouse likely
// too: live answers most such repeats without a query.
func (rs *routes) recentStatus(ctx context.Context, client, id string) Status {
	if v, ok := rs.onItsWay(id); ok {
		return v.Status
	}
	if rs.repeats != nil {
		if _, st, err := rs.repeats.lookup(ctx, client, id); err == nil && st != "" {
			return st
		}
	}
	return StatusReceived
}

// onItsWay answers receipt id from what Kafka says of it, if live can:
// its status and events, or RECEIVED, for one in the index of recent
// receipts that the status view has not reached yet.
func (rs *routes) onItsWay(id string) (View, bool) {
	if v, ok := rs.live.view(id); ok {
		return v, true
	}
	if e, ok := rs.recent.get(id); ok {
		return rs.live.received(id, e)
	}
	return View{}, false
}

// owner returns the client whose receipt id is, if the caller may read it:
// a client its own, an admin any.
func owner(caller auth.Principal, id string) (string, bool) {
	client, _, ok := strings.Cut(id, ":")
	if !ok {
		return "", false
	}
	if caller.Scope == schemas.ScopeAdmin || client == caller.Name {
		return client, true
	}
	return "", false
}

func notFound(id string) error {
	return api.Errorf(http.StatusNotFound, "no receipt %q", api.Clip(id, 140))
}

// historySlack is how long before a receipt's received time (the API's
// clock) its history is looked for (stamped by the workers' clocks): any
// skew between them, with room to spare.
const historySlack = 24 * time.Hour

// get answers a receipt's status and history: one on its way from what
// Kafka says (live, also for one the status view has not reached yet),
// any other from ClickHouse; one received so lately that neither has it
// yet is RECEIVED.
func (rs *routes) get(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	client, ok := owner(api.Caller(r), id)
	if !ok {
		return notFound(id)
	}
	if v, ok := rs.onItsWay(id); ok {
		api.WriteJSON(w, http.StatusOK, v)
		return nil
	}
	var v View
	var err error = ErrNotFound
	if rs.reader != nil {
		v, err = rs.reader.Receipt(r.Context(), client, id)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		e, ok := rs.recent.settled(r.Context(), id)
		if !ok {
			if rs.reader == nil {
				return api.Unavailable("receipts cannot be read here (no ClickHouse)", nil)
			}
			return notFound(id)
		}
		v = View{ID: id, Type: e.Type, Status: StatusReceived, ReceivedAt: ration.NewTimestamp(e.ReceivedAt)}
	case err != nil:
		return api.Unavailable("receipts cannot be read now (ClickHouse)", err)
	}
	v.History = []ration.ItemEvent{}
	if rs.b.History != nil {
		var since time.Time
		if v.ReceivedAt != nil {
			since = v.ReceivedAt.Add(-historySlack)
		}
		h, err := rs.b.History.ItemHistory(r.Context(), Name, id, since)
		if err != nil {
			return api.Unavailable("the receipt's history cannot be read now (ClickHouse)", err)
		}
		v.History = h
	}
	api.WriteJSON(w, http.StatusOK, v)
	return nil
}

// document answers a receipt as it was sent.
func (rs *routes) document(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	client, ok := owner(api.Caller(r), id)
	if !ok {
		return notFound(id)
	}
	if rs.reader == nil {
		return api.Unavailable("receipts cannot be read here (no ClickHouse)", nil)
	}
	ct, doc, err := rs.reader.Document(r.Context(), client, id)
	switch {
	case errors.Is(err, ErrNotFound):
		if _, ok := rs.recent.settled(r.Context(), id); ok {
			w.Header().Set("Retry-After", "1")
			return api.Errorf(http.StatusServiceUnavailable, "receipt %s was received a moment ago and is being stored; ask again in a second", id)
		}
		return notFound(id)
	case err != nil:
		return api.Unavailable("receipts cannot be read now (ClickHouse)", err)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
	return nil
}

// list answers a page of the caller's receipts (an admin's: every
// client's, or ?client's).
func (rs *routes) list(w http.ResponseWriter, r *http.Request) error {
	if rs.reader == nil {
		return api.Unavailable("receipts cannot be read here (no ClickHouse)", nil)
	}
	q := r.URL.Query()
	caller := api.Caller(r)
	f := Filter{Client: caller.Name, Type: q.Get("type"), Status: Status(q.Get("status")), Limit: DefaultPageSize, Cursor: q.Get("cursor")}
	if caller.Scope == schemas.ScopeAdmin {
		f.Client = q.Get("client")
	}
	if f.Status != "" && !f.Status.Valid() {
		return api.BadRequest("status %q: want one of RECEIVED, TAX_REGISTERED, LOGISTICS_REGISTERED, ACCEPTED, REJECTED, PARKED, FAILED", api.Clip(string(f.Status), 30))
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return api.BadRequest("limit %q: want 1..%d", api.Clip(s, 20), MaxPageSize)
		}
		f.Limit = n
	}
	now := rs.now()
	f.From, f.To = now.Add(-DefaultPeriod), now.Add(time.Millisecond)
	for name, at := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if s := q.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return api.BadRequest("%s %q: want an RFC 3339 time", name, api.Clip(s, 40))
			}
			*at = t
		}
	}
	if !f.From.Before(f.To) {
		return api.BadRequest("from must be before to")
	}
	page, err := rs.reader.List(r.Context(), f)
	switch {
	case errors.Is(err, ErrBadCursor):
		return api.BadRequest("%v", err)
	case err != nil:
		return api.Unavailable("receipts cannot be read now (ClickHouse)", err)
	}
	api.WriteJSON(w, http.StatusOK, page)
	return nil
}

// typeBody is a type as the API shows it.
type typeBody struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Schema      json.RawMessage   `json:"schema,omitempty"`
	Rules       map[string]string `json:"rules,omitempty"`
	UpdatedAt   ration.Timestamp  `json:"updated_at"`
	UpdatedBy   string            `json:"updated_by"`
}

func typeOf(e receipttype.Entry, whole bool) typeBody {
	t := typeBody{Name: e.Name, Description: e.Document.Description, UpdatedAt: ration.Timestamp{Time: e.UpdatedAt}, UpdatedBy: e.UpdatedBy}
	if whole {
		t.Schema, t.Rules = e.Document.Schema, e.Document.Rules
	}
	return t
}

func (rs *routes) listTypes(w http.ResponseWriter, _ *http.Request) error {
	out := []typeBody{}
	for _, e := range rs.types.List() {
		out = append(out, typeOf(e, false))
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"types": out})
	return nil
}

func (rs *routes) getType(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	e, ok := rs.types.Get(name)
	if !ok {
		return api.Errorf(http.StatusNotFound, "no receipt type %q", api.Clip(name, 70))
	}
	api.WriteJSON(w, http.StatusOK, typeOf(e, true))
	return nil
}

// putType compiles and stores a type, and answers once it is in force
// here (every other API process follows within a second).
func (rs *routes) putType(w http.ResponseWriter, r *http.Request) error {
	if rs.b.Kafka == nil {
		return api.Unavailable("this API cannot change types (no Kafka)", nil)
	}
	if err := api.CheckContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	name := r.PathValue("name")
	doc, err := io.ReadAll(http.MaxBytesReader(w, r.Body, receipttype.MaxDocumentBytes+1))
	if err != nil {
		return api.Errorf(http.StatusRequestEntityTooLarge, "a type document is at most %d bytes", receipttype.MaxDocumentBytes)
	}
	if _, err := receipttype.Compile(name, doc); err != nil {
		var inv *receipttype.InvalidError
		if errors.As(err, &inv) {
			return api.Errorf(http.StatusUnprocessableEntity, "receipt type %s does not compile", api.Clip(name, 70)).WithReasons(inv.Reasons)
		}
		return err
	}
	_, existed := rs.types.Get(name)
	at := rs.now().UTC().Truncate(time.Millisecond)
	b, err := rs.b.Codec.Encode(&receipttype.Record{Name: name, Document: string(doc), UpdatedAt: at, UpdatedBy: api.Caller(r).Name})
	if err != nil {
		return err
	}
	if err := rs.storeType(r.Context(), name, b, func() bool {
		e, ok := rs.types.Get(name)
		return ok && e.UpdatedAt.Equal(at)
	}); err != nil {
		return err
	}
	e, _ := rs.types.Get(name)
	status := http.StatusOK
	if !existed {
		status = http.StatusCreated
	}
	api.WriteJSON(w, status, typeOf(e, true))
	return nil
}

func (rs *routes) deleteType(w http.ResponseWriter, r *http.Request) error {
	if rs.b.Kafka == nil {
		return api.Unavailable("this API cannot change types (no Kafka)", nil)
	}
	name := r.PathValue("name")
	if _, ok := rs.types.Get(name); !ok {
		return api.Errorf(http.StatusNotFound, "no receipt type %q", api.Clip(name, 70))
	}
	if err := rs.storeType(r.Context(), name, nil, func() bool { _, ok := rs.types.Get(name); return !ok }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// storeType writes a type's record (nil: a tombstone) and waits until in
// force holds here.
func (rs *routes) storeType(ctx context.Context, name string, value []byte, inForce func() bool) error {
	pctx, cancel := context.WithTimeout(ctx, rs.b.Config.BackendTimeout)
	defer cancel()
	if err := rs.b.Kafka.ProduceSync(pctx, &kgo.Record{Topic: TopicTypes, Key: []byte(name), Value: value}).FirstErr(); err != nil {
		return api.Unavailable("the receipt type could not be stored", err)
	}
	deadline := time.After(typeWait)
	for {
		changed := rs.types.Changed()
		if inForce() {
			return nil
		}
		select {
		case <-changed:
		case <-deadline:
			return api.Unavailable("the receipt type is stored but not yet in force here; it will be within seconds", nil)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
