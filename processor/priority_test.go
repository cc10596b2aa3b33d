package processor

import (
	"slices"
	"testing"
)

func TestPriorityServesAllWithoutHighBacklog(t *testing.T) {
	p := newPriority([]string{"high", "normal"}, 5)
	p.set("normal", 0, 100)
	pause, resume := p.next()
	if len(pause) != 0 || !slices.Equal(resume, []string{"high", "normal"}) {
		t.Fatalf("pause=%v resume=%v, want nothing paused", pause, resume)
	}
}

func TestPriorityGivesNormalOneBatchInShare(t *testing.T) {
	p := newPriority([]string{"high", "normal"}, 5)
	p.set("high", 3, 10)
	p.set("normal", 0, 100)
	var highTurns, normalTurns int
	for range 50 {
		pause, _ := p.next()
		switch {
		case slices.Equal(pause, []string{"normal"}):
			highTurns++
		case slices.Equal(pause, []string{"high"}):
			normalTurns++
		default:
			t.Fatalf("pause=%v while both have a backlog", pause)
		}
	}
	if normalTurns != 10 || highTurns != 40 {
		t.Fatalf("high %d, normal %d turns of 50; want 40 and 10", highTurns, normalTurns)
	}
}

func TestPriorityDrainedAndForgotten(t *testing.T) {
	p := newPriority([]string{"high", "normal"}, 5)
	p.set("high", 1, 10)
	p.set("normal", 0, 100)
	p.drained([]string{"high"})
	if pause, _ := p.next(); len(pause) != 0 {
		t.Fatalf("drained high still paused %v", pause)
	}
	p.set("high", 1, 10)
	p.forget(map[string][]int32{"high": {1}})
	if pause, _ := p.next(); len(pause) != 0 {
		t.Fatalf("forgotten partition still counts: paused %v", pause)
	}
}
