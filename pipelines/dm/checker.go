package dm

import (
	"context"
	"hash/fnv"
)

// Checker answers whether a user accepts direct messages. Implementations
// must be safe for concurrent use; a check may repeat after a rebalance, so
// it must be idempotent.
type Checker interface {
	Check(ctx context.Context, userID string) (openDM bool, err error)
}

// Answer is the simulator's deterministic answer for userID: the same user
// always gets the same answer, two users in three have open DMs.
func Answer(userID string) bool {
	h := fnv.New32a()
	_, _ = h.Write([]byte(userID))
	return h.Sum32()%3 != 0
}
