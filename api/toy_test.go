package api

import (
	"net/http"
	"regexp"
	"slices"
	"sync"

	"github.com/rationhq/ration/schemas"
)

// toyRoutes are a pipeline's routes as far as the server's own tests need
// one (the real pipelines import package api, so its tests cannot use
// them): a write, POST /v1/toy/items {"ids": [...]} (write scope), and
// reads of what was written, GET /v1/toy/items and GET
// /v1/toy/items/{id}, 404 for an id never written (read scope). They
// answer with the helpers a pipeline's routes use.
type toyRoutes struct {
	mu    sync.Mutex
	items []string
}

// toyID is what the toy takes for an id.
var toyID = regexp.MustCompile(`^[a-z0-9]{1,16}$`)

func newToyRoutes() *toyRoutes { return &toyRoutes{} }

func (toy *toyRoutes) routes() []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/v1/toy/items", Scope: schemas.ScopeWrite, Handle: toy.add},
		{Method: http.MethodGet, Path: "/v1/toy/items", Scope: schemas.ScopeRead, Handle: toy.list},
		{Method: http.MethodGet, Path: "/v1/toy/items/{id}", Scope: schemas.ScopeRead, Handle: toy.get},
	}
}

func (toy *toyRoutes) add(w http.ResponseWriter, r *http.Request) error {
	if err := CheckContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := DecodeJSON(http.MaxBytesReader(w, r.Body, 1<<20), &req); err != nil {
		return err
	}
	if len(req.IDs) == 0 {
		return BadRequest("ids: want at least one id")
	}
	for i, id := range req.IDs {
		if !toyID.MatchString(id) {
			return BadRequest("ids[%d] %q is not a valid id", i, Clip(id, 16))
		}
	}
	toy.mu.Lock()
	toy.items = append(toy.items, req.IDs...)
	toy.mu.Unlock()
	WriteJSON(w, http.StatusAccepted, map[string]int{"accepted": len(req.IDs)})
	return nil
}

func (toy *toyRoutes) list(w http.ResponseWriter, _ *http.Request) error {
	toy.mu.Lock()
	items := append([]string{}, toy.items...)
	toy.mu.Unlock()
	WriteJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (toy *toyRoutes) get(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	toy.mu.Lock()
	found := slices.Contains(toy.items, id)
	toy.mu.Unlock()
	if !found {
		return Errorf(http.StatusNotFound, "item %q not found", Clip(id, 16))
	}
	WriteJSON(w, http.StatusOK, map[string]string{"id": id})
	return nil
}

// written returns the ids the toy accepted.
func (toy *toyRoutes) written() []string {
	toy.mu.Lock()
	defer toy.mu.Unlock()
	return slices.Clone(toy.items)
}
