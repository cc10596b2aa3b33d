package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/schemas"
)

// clientRequest is the body of POST /v1/clients.
type clientRequest struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Scope    string `json:"scope"`
	Pipeline string `json:"pipeline"`
}

// apiKeyBody answers the registration of an API client: the only time
// its key is shown.
type apiKeyBody struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Scope string `json:"scope"`
	Key   string `json:"key"`
}

// workerBody answers the registration of a worker: its Kafka credentials,
// shown once.
type workerBody struct {
	Name          string `json:"name"`
	Kind          string `json:"kind"`
	Pipeline      string `json:"pipeline"`
	SASLMechanism string `json:"sasl_mechanism"`
	Username      string `json:"username"`
	Password      string `json:"password"`
}

// clientBody is a client as GET /v1/clients lists it: never a secret.
type clientBody struct {
	Name      string            `json:"name"`
	Kind      string            `json:"kind"`
	Scope     string            `json:"scope,omitempty"`
	Pipeline  string            `json:"pipeline,omitempty"`
	CreatedAt *ration.Timestamp `json:"created_at"`
	Revoked   bool              `json:"revoked"`
}

func toClientBody(c schemas.Client) clientBody {
	b := clientBody{Name: c.Name, Kind: string(c.Kind), Pipeline: c.Pipeline,
		CreatedAt: ration.NewTimestamp(c.CreatedAt), Revoked: c.Revoked}
	if c.Kind == schemas.ClientAPI {
		b.Scope = string(c.Scope)
	}
	return b
}

// addClient is POST /v1/clients.
func (s *Server) addClient(w http.ResponseWriter, r *http.Request) error {
	if err := CheckContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	var req clientRequest
	if err := DecodeJSON(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), &req); err != nil {
		return err
	}
	if !auth.ValidName(req.Name) {
		return BadRequest("name %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", Clip(req.Name, 64))
	}
	setAuditTarget(r, req.Name)
	if s.deps.ClientStore == nil {
		return Unavailable("client management is not enabled on this server", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	switch schemas.ClientKind(req.Kind) {
	case "", schemas.ClientAPI:
		scope := schemas.Scope(req.Scope)
		if scope != schemas.ScopeRead && scope != schemas.ScopeWrite && scope != schemas.ScopeAdmin {
			return BadRequest("scope %q: want read, write or admin", Clip(req.Scope, 16))
		}
		key, err := s.deps.ClientStore.CreateKey(ctx, req.Name, scope)
		if err != nil {
			return clientError(err)
		}
		s.log.Info("client registered", "client", req.Name, "scope", scope)
		WriteJSON(w, http.StatusCreated, apiKeyBody{Name: req.Name, Kind: string(schemas.ClientAPI), Scope: string(scope), Key: key})
		return nil
	case schemas.ClientWorker:
		if req.Pipeline == "" {
			return BadRequest("a worker needs a pipeline")
		}
		if s.deps.Workers == nil {
			return Errorf(http.StatusNotImplemented, "worker credentials are not available on this server (no Kafka SASL provisioner)")
		}
		if c, ok := s.deps.ClientStore.Registry().Client(req.Name); ok && !c.Revoked {
			return Errorf(http.StatusConflict, "client %q exists", req.Name)
		}
		user, pass, err := s.deps.Workers.CreateWorker(ctx, req.Name, req.Pipeline)
		if errors.Is(err, auth.ErrInvalid) {
			return BadRequest("%v", err)
		}
		if err != nil {
			// The provisioner's errors name the worker and the pipeline,
			// never the password.
			return &Error{status: http.StatusBadGateway, msg: "creating the worker's Kafka credentials failed", cause: err}
		}
		if err := s.deps.ClientStore.AddWorker(ctx, req.Name, req.Pipeline); err != nil {
			return clientError(err)
		}
		s.log.Info("worker registered", "client", req.Name, "pipeline", req.Pipeline)
		WriteJSON(w, http.StatusCreated, workerBody{Name: req.Name, Kind: string(schemas.ClientWorker), Pipeline: req.Pipeline,
			SASLMechanism: auth.WorkerMechanism, Username: user, Password: pass})
		return nil
	default:
		return BadRequest("kind %q: want api or worker", Clip(req.Kind, 16))
	}
}

// listClients is GET /v1/clients.
func (s *Server) listClients(w http.ResponseWriter, _ *http.Request) error {
	if s.deps.ClientStore == nil {
		return Unavailable("client management is not enabled on this server", nil)
	}
	cs := s.deps.ClientStore.Registry().Clients()
	out := make([]clientBody, len(cs))
	for i, c := range cs {
		out[i] = toClientBody(c)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"clients": out})
	return nil
}

// revokeClient is DELETE /v1/clients/{name}.
func (s *Server) revokeClient(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	setAuditTarget(r, Clip(name, 64))
	if s.deps.ClientStore == nil {
		return Unavailable("client management is not enabled on this server", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BackendTimeout)
	defer cancel()
	// A worker's Kafka credentials go first: if that fails the registry
	// still lists the worker as active, and repeating the call finishes
	// the job.
	if c, ok := s.deps.ClientStore.Registry().Client(name); ok && !c.Revoked && c.Kind == schemas.ClientWorker {
		if s.deps.Workers == nil {
			return Errorf(http.StatusNotImplemented, "worker credentials cannot be revoked on this server (no Kafka SASL provisioner)")
		}
		if err := s.deps.Workers.RevokeWorker(ctx, name); err != nil {
			return &Error{status: http.StatusBadGateway, msg: "deleting the worker's Kafka credentials failed; retry", cause: err}
		}
	}
	c, err := s.deps.ClientStore.Revoke(ctx, name)
	if err != nil {
		return clientError(err)
	}
	s.log.Info("client revoked", "client", name)
	WriteJSON(w, http.StatusOK, toClientBody(c))
	return nil
}

// clientError maps the registry's errors to answers.
func clientError(err error) error {
	switch {
	case errors.Is(err, auth.ErrExists):
		return Errorf(http.StatusConflict, "%v", err)
	case errors.Is(err, auth.ErrNotFound):
		return Errorf(http.StatusNotFound, "%v", err)
	case errors.Is(err, auth.ErrInvalid):
		return BadRequest("%v", err)
	}
	return Unavailable("kafka did not acknowledge the change; retry it", err)
}
