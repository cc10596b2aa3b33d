package chaos

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"syscall"
	"time"
)

// simFaultFor is how long a simulator outage or slow spell lasts: past
// the first delay tiers, so items wait and retry, well short of parking
// them all.
const simFaultFor = 4 * time.Second

// hits names the process or simulator f acts on ("" for a cut of every
// connection, which acts on none).
func (s *stack) hits(f Fault) string {
	switch f.Kind {
	case WorkerKill, Zombie:
		return s.workers[f.Target%len(s.workers)].name
	case APIKill:
		return s.apis[f.Target%len(s.apis)].name
	case SinkKill, ReprocessKill, BrokerKill, ClickHouseKill:
		return string(f.Kind)
	case SimOutage:
		return simNames[f.Target%len(simNames)]
	case SimSlow:
		return registrarNames[f.Target%len(registrarNames)]
	}
	return ""
}

// simNames are the simulators an outage can hit; registrarNames those that
// can also be slow (the DM checker simulator has no run-time latency).
var (
	simNames       = []string{"dm", "tax", "logistics"}
	registrarNames = []string{"tax", "logistics"}
)

// inject does f to the stack and says what it did. It returns once the
// hit process is running again (or the simulator fault has ended).
func (s *stack) inject(ctx context.Context, f Fault) (string, error) {
	switch f.Kind {
	case WorkerKill:
		w := s.workers[f.Target%len(s.workers)]
		return "kill -9 " + w.name + ", started again", w.crash(ctx)
	case APIKill:
		a := s.apis[f.Target%len(s.apis)]
		return "kill -9 " + a.name + ", started again", a.crash(ctx)
	case SinkKill:
		return "kill -9 sink, started again", s.sink.crash(ctx)
	case ReprocessKill:
		return "kill -9 reprocessor, started again", s.reprocessor.crash(ctx)
	case BrokerKill:
		start := time.Now()
		err := s.broker.crash(ctx)
		return fmt.Sprintf("kill -9 broker, started again on its data dir in %v", time.Since(start).Round(time.Millisecond)), err
	case ClickHouseKill:
		if err := s.ch.Kill(); err != nil {
			return "kill -9 clickhouse", err
		}
		start := time.Now()
		err := s.ch.Restart(ctx)
		return fmt.Sprintf("kill -9 clickhouse, started again in %v", time.Since(start).Round(time.Millisecond)), err
	case ConnCut:
		n := 0
		for _, p := range s.proxies {
			n += p.Cut()
		}
		return fmt.Sprintf("%d client connections to the APIs cut", n), nil
	case Zombie:
		w := s.workers[f.Target%len(s.workers)]
		if err := w.signal(syscall.SIGSTOP); err != nil {
			return "SIGSTOP " + w.name, err
		}
		// The fault is the pause itself: long enough for the group to
		// give the worker's buckets away while it still thinks it owns them.
		pause := sessionTimeout + 2*time.Second
		select {
		case <-time.After(pause):
		case <-ctx.Done():
		}
		return fmt.Sprintf("SIGSTOP %s for %v, then SIGCONT", w.name, pause), w.signal(syscall.SIGCONT)
	case SimOutage:
		name := s.hits(f)
		body := fmt.Sprintf(`{"down_for_seconds": %g}`, simFaultFor.Seconds())
		return fmt.Sprintf("%s simulator down for %v", name, simFaultFor), s.simFaults(ctx, name, body)
	case SimSlow:
		name := s.hits(f)
		if err := s.simFaults(ctx, name, `{"latency_ms": 1500, "lost_reply_rate": 0.2}`); err != nil {
			return name + " simulator slow", err
		}
		select {
		case <-time.After(simFaultFor):
		case <-ctx.Done():
		}
		return fmt.Sprintf("%s simulator answering after 1.5 s and losing 20%% of replies for %v", name, simFaultFor),
			s.simFaults(context.WithoutCancel(ctx), name, `{"latency_ms": 0, "lost_reply_rate": 0}`)
	}
	return "", fmt.Errorf("unknown fault %q", f.Kind)
}

// simFaults sets faults of simulator name at run time.
func (s *stack) simFaults(ctx context.Context, name, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.simURLs[name]+"/admin/faults", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s simulator: PUT /admin/faults: %s", name, resp.Status)
	}
	return nil
}
