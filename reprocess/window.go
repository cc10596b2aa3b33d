package reprocess

import (
	"fmt"
	"strings"
	"time"
)

// Window is a daily span of off-peak hours in a time zone, such as
// 01:00-05:00. A window whose end is before its start wraps midnight
// (22:00-04:00); one whose end equals its start is the whole day.
type Window struct {
	start, end time.Duration // since midnight
	loc        *time.Location
	text       string
}

// ParseWindow parses "HH:MM-HH:MM" in loc.
func ParseWindow(s string, loc *time.Location) (*Window, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return nil, fmt.Errorf("window %q: want HH:MM-HH:MM", s)
	}
	start, err := clock(from)
	if err != nil {
		return nil, fmt.Errorf("window %q: %w", s, err)
	}
	end, err := clock(to)
	if err != nil {
		return nil, fmt.Errorf("window %q: %w", s, err)
	}
	return &Window{start: start, end: end, loc: loc, text: strings.TrimSpace(s) + " " + loc.String()}, nil
}

func clock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func (w *Window) String() string { return w.text }

// sinceMidnight returns t's midnight in the window's zone and how far t is
// past it.
func (w *Window) sinceMidnight(t time.Time) (time.Time, time.Duration) {
	t = t.In(w.loc)
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, w.loc)
	return midnight, t.Sub(midnight)
}

// Contains reports whether t is inside the window.
func (w *Window) Contains(t time.Time) bool {
	_, d := w.sinceMidnight(t)
	switch {
	case w.start == w.end:
		return true
	case w.start < w.end:
		return d >= w.start && d < w.end
	default:
		return d >= w.start || d < w.end
	}
}

// Next returns t if it is inside the window, else when the window next
// opens.
func (w *Window) Next(t time.Time) time.Time {
	if w.Contains(t) {
		return t
	}
	midnight, d := w.sinceMidnight(t)
	open := midnight.Add(w.start)
	if d >= w.start {
		open = time.Date(midnight.Year(), midnight.Month(), midnight.Day()+1, 0, 0, 0, 0, w.loc).Add(w.start)
	}
	return open
}

// End returns when the window that contains t closes.
func (w *Window) End(t time.Time) time.Time {
	midnight, d := w.sinceMidnight(t)
	if w.start == w.end {
		return time.Time{} // never
	}
	end := midnight.Add(w.end)
	if w.end <= d {
		end = time.Date(midnight.Year(), midnight.Month(), midnight.Day()+1, 0, 0, 0, 0, w.loc).Add(w.end)
	}
	return end
}
