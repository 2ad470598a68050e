package cronjob

import (
	"testing"
	"time"
)

func TestSchedule_Next(t *testing.T) {
	base := time.Date(2026, 3, 14, 10, 30, 15, 0, time.UTC) // a Saturday
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		spec string
		loc  *time.Location
		want time.Time
	}{
		{"* * * * *", nil, time.Date(2026, 3, 14, 10, 31, 0, 0, time.UTC)},
		{"*/15 * * * *", nil, time.Date(2026, 3, 14, 10, 45, 0, 0, time.UTC)},
		{"5/20 * * * *", nil, time.Date(2026, 3, 14, 10, 45, 0, 0, time.UTC)},
		{"0 9-17 * * MON-FRI", nil, time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)},
		{"@hourly", nil, time.Date(2026, 3, 14, 11, 0, 0, 0, time.UTC)},
		{"@daily", nil, time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)},
		{"@weekly", nil, time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)},
		{"@monthly", nil, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
		{"@yearly", nil, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"0 0 29 2 *", nil, time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"0 0 13 * 5", nil, time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)}, // day 13 OR Friday
		{"30 10 * * 7", nil, time.Date(2026, 3, 15, 10, 30, 0, 0, time.UTC)},
		{"0 6 * * *", ny, time.Date(2026, 3, 15, 6, 0, 0, 0, ny)},
		{"0 12 1 jan,jul ?", nil, time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		s, err := ParseSchedule(tc.spec, tc.loc)
		if err != nil {
			t.Errorf("%s: %v", tc.spec, err)
			continue
		}
		if got := s.Next(base); !got.Equal(tc.want) {
			t.Errorf("%s: Next = %v, want %v", tc.spec, got, tc.want)
		}
	}
	for _, bad := range []string{"* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "TZ=UTC * * * * *", "5-1 * * * *", "* * * foo *"} {
		if _, err := ParseSchedule(bad, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
