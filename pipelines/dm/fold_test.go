package dm

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFoldIgnoresOrderAndRepeats: a user's state does not depend on the
// order its records arrive in (they come from five topics) nor on a record
// arriving twice: twenty orders, with repeats, give one answer.
func TestFoldIgnoresOrderAndRepeats(t *testing.T) {
	u := newUniverse(testCodec(t))
	u.edgeCases()
	r := rand.New(rand.NewPCG(3, 4))
	u.random(r, 300)
	v := &stateView{codec: u.codec, events: New().EventsTopic()}
	byUser := map[string][]*kgo.Record{}
	for _, rec := range u.records {
		byUser[string(rec.Key)] = append(byUser[string(rec.Key)], rec)
	}
	for user, recs := range byUser {
		var first *Fold
		for run := range 20 {
			order := append([]*kgo.Record{}, recs...)
			if run > 0 {
				order = append(order, recs[r.IntN(len(recs))])
				r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			var f Fold
			for _, rec := range order {
				_, x, ok, err := v.fact(rec)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					f.apply(x)
				}
			}
			if first == nil {
				first = &f
				continue
			}
			if !reflect.DeepEqual(f.user(user), first.user(user)) {
				t.Fatalf("user %s: order %d gives %s, the first %s", user, run, show(f.user(user)), show(first.user(user)))
			}
		}
	}
}
