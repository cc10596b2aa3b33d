package reprocess

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	utc := time.UTC
	at := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, utc) }
	night, err := ParseWindow("01:00-05:00", utc)
	if err != nil {
		t.Fatal(err)
	}
	wrap, err := ParseWindow("22:00-04:00", utc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		w        *Window
		t        time.Time
		contains bool
		next     time.Time
	}{
		{night, at(0, 59), false, at(1, 0)},
		{night, at(1, 0), true, at(1, 0)},
		{night, at(4, 59), true, at(4, 59)},
		{night, at(5, 0), false, at(1, 0).AddDate(0, 0, 1)},
		{night, at(14, 0), false, at(1, 0).AddDate(0, 0, 1)},
		{wrap, at(23, 0), true, at(23, 0)},
		{wrap, at(3, 0), true, at(3, 0)},
		{wrap, at(12, 0), false, at(22, 0)},
	} {
		if got := tt.w.Contains(tt.t); got != tt.contains {
			t.Errorf("%s contains %s: %v, want %v", tt.w, tt.t.Format("15:04"), got, tt.contains)
		}
		if got := tt.w.Next(tt.t); !got.Equal(tt.next) {
			t.Errorf("%s next after %s: %s, want %s", tt.w, tt.t.Format("15:04"), got, tt.next)
		}
	}
	if end := night.End(at(2, 0)); !end.Equal(at(5, 0)) {
		t.Errorf("end of the night window from 02:00: %s", end)
	}
	if end := wrap.End(at(23, 0)); !end.Equal(at(4, 0).AddDate(0, 0, 1)) {
		t.Errorf("end of the wrapping window from 23:00: %s", end)
	}

	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	w, err := ParseWindow("01:00-05:00", berlin)
	if err != nil {
		t.Fatal(err)
	}
	// 01:30 in Berlin in winter is 00:30 UTC.
	if !w.Contains(time.Date(2026, 1, 10, 0, 30, 0, 0, utc)) || w.Contains(time.Date(2026, 1, 10, 4, 30, 0, 0, utc)) {
		t.Error("the window ignores its time zone")
	}

	for _, bad := range []string{"", "1-5", "01:00", "25:00-01:00", "01:00-05:60"} {
		if _, err := ParseWindow(bad, utc); err == nil {
			t.Errorf("window %q accepted", bad)
		}
	}
}
