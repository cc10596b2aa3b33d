package bench

import (
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"

	"github.com/rationhq/ration"
)

// PointsLoad is the points load and its checks against a stack run by
// someone else (`ration chaos`), paced by its caller: the same people,
// groups, commands and ledger checks as `ration bench points`.
type PointsLoad struct{ r *pointsRun }

// NewPointsLoad creates the catalogue, users (staff too) and groups of
// the load on target.
func NewPointsLoad(ctx context.Context, target PointsTarget, users, groups int, log io.Writer) (*PointsLoad, error) {
	if users < 1 || groups < 1 {
		return nil, fmt.Errorf("points load: users %d and groups %d must be positive", users, groups)
	}
	r := &pointsRun{cfg: PointsConfig{Users: users, Groups: groups}, stack: target, log: log,
		decided: map[string]ration.PointsOutcome{}, entries: map[string]map[int64]ration.PointsOutcome{}}
	if err := r.setUp(ctx); err != nil {
		return nil, fmt.Errorf("points load: set up: %w", err)
	}
	return &PointsLoad{r: r}, nil
}

// Command sends one bill or redemption chosen by rng and retries it until
// it has an outcome or done ends; it reports whether one came. Safe for concurrent use with distinct
// rngs.
func (l *PointsLoad) Command(done context.Context, rng *mrand.Rand) bool {
	return l.r.command(done, rng)
}

// Check compares every group's outcomes with its record in Kafka and its
// ledger in ClickHouse; call it once the load has stopped.
func (l *PointsLoad) Check(ctx context.Context) { l.r.check(ctx) }

// PointsTally is what a points load saw.
type PointsTally struct {
	Groups, Commands, Applied int
	Violations                []string
}

// Tally returns the commands decided so far and every violation found.
func (l *PointsLoad) Tally() PointsTally {
	r := l.r
	r.mu.Lock()
	defer r.mu.Unlock()
	t := PointsTally{Groups: len(r.groups), Commands: len(r.decided), Violations: append([]string(nil), r.violations...)}
	for _, o := range r.decided {
		if o.Outcome == ration.PointsApplied {
			t.Applied++
		}
	}
	return t
}
