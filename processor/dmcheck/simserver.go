package dmcheck

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

// SimHandler serves a Checker over HTTP the way NewHTTPChecker expects:
// GET /check/{user_id} answers {"open_dm": bool}, or 503 with a JSON error
// when the check failed. `ration sim` serves it with a Simulator.
func SimHandler(c Checker, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /check/{user_id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("user_id")
		w.Header().Set("Content-Type", "application/json")
		open, err := c.Check(r.Context(), id)
		if err != nil {
			log.Debug("simulated check failed", "user_id", id, "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]bool{"open_dm": open})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	return mux
}
