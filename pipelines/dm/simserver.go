package dm

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// SimHandler serves a simulator over HTTP the way NewHTTPChecker expects:
// GET /check/{user_id} answers {"open_dm": bool}, or 503 with a JSON error
// when the check failed. Its faults are read and set at /admin/faults:
//
//	GET /admin/faults                                 {"error_rate": 0.3, "down_until": "..."}
//	PUT /admin/faults {"error_rate": 0.3, "down_for_seconds": 10}
//
// `ration sim` serves it.
func SimHandler(sim Simulator, log *slog.Logger) http.Handler {
	if sim.Faults == nil {
		sim.Faults = new(Faults)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /check/{user_id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("user_id")
		open, err := sim.Check(r.Context(), id)
		if err != nil {
			log.Debug("simulated check failed", "user_id", id, "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"open_dm": open})
	})
	mux.HandleFunc("GET /admin/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, sim.Faults.State())
	})
	mux.HandleFunc("PUT /admin/faults", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ErrorRate      float64 `json:"error_rate"`
			DownForSeconds float64 `json:"down_for_seconds"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad faults: " + err.Error()})
			return
		}
		if err := sim.Faults.Set(req.ErrorRate, time.Duration(req.DownForSeconds*float64(time.Second))); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		st := sim.Faults.State()
		log.Info("simulator faults set", "error_rate", st.ErrorRate, "down_until", st.DownUntil)
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
