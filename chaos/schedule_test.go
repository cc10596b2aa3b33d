package chaos

import (
	"slices"
	"testing"
	"time"
)

func TestPlanIsTheSameForTheSameSeed(t *testing.T) {
	a, b := Plan(7, 10*time.Minute, Kinds), Plan(7, 10*time.Minute, Kinds)
	if !slices.Equal(a, b) {
		t.Fatal("two plans of one seed differ")
	}
	if slices.Equal(a, Plan(8, 10*time.Minute, Kinds)) {
		t.Fatal("plans of two seeds are the same")
	}
}

func TestPlanHasEveryKindAndThreeWorkerKillsAMinute(t *testing.T) {
	for _, d := range []time.Duration{time.Minute, 10 * time.Minute} {
		plan := Plan(1, d, Kinds)
		kinds := map[Kind]int{}
		for i, f := range plan {
			kinds[f.Kind]++
			if f.At < 0 || f.At > d*85/100 {
				t.Errorf("%v: fault %d at %v, outside the load's first 85%%", d, i, f.At)
			}
			if i > 0 && f.At < plan[i-1].At {
				t.Errorf("%v: fault %d at %v before the one before it (%v)", d, i, f.At, plan[i-1].At)
			}
			if f.Target < 0 || f.Target >= targets(f.Kind) {
				t.Errorf("%v: fault %d targets %d of %d", d, i, f.Target, targets(f.Kind))
			}
		}
		for _, k := range Kinds {
			if kinds[k] == 0 {
				t.Errorf("%v: no %s", d, k)
			}
		}
		if perMinute := float64(kinds[WorkerKill]) / d.Minutes(); perMinute < 3 {
			t.Errorf("%v: %.1f worker kills a minute, want at least 3", d, perMinute)
		}
	}
}

func TestParseKinds(t *testing.T) {
	got, err := ParseKinds("zombie, worker-kill,zombie")
	if err != nil || !slices.Equal(got, []Kind{Zombie, WorkerKill}) {
		t.Fatalf("ParseKinds = %v, %v", got, err)
	}
	if _, err := ParseKinds("meteor"); err == nil {
		t.Fatal("an unknown kind was accepted")
	}
	if all, _ := ParseKinds(""); !slices.Equal(all, Kinds) {
		t.Fatalf("ParseKinds(\"\") = %v, want every kind", all)
	}
}
