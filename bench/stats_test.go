package bench

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name             string
		in               []time.Duration
		min, median, max int
	}{
		{"odd count, unsorted", ms(30, 10, 20), 10, 20, 30},
		{"even count averages the middle two", ms(40, 10, 30, 20), 10, 25, 40},
		{"one sample", ms(7), 7, 7, 7},
		{"outlier moves max, not median", ms(10, 11, 12, 13, 900), 10, 12, 900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tt.in...)
			s := Summarize(tt.in)
			want := Stats{Runs: len(tt.in), Min: ms(tt.min)[0], Median: ms(tt.median)[0], Max: ms(tt.max)[0]}
			if s != want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tt.in, s, want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatalf("Summarize reordered its input: %v, was %v", tt.in, in)
				}
			}
		})
	}
	if s := Summarize(nil); s != (Stats{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", s)
	}
}

func TestRatio(t *testing.T) {
	a := Stats{Runs: 1, Median: 150 * time.Millisecond}
	b := Stats{Runs: 1, Median: 100 * time.Millisecond}
	if got := Ratio(a, b); got != 1.5 {
		t.Errorf("Ratio = %v, want 1.5", got)
	}
	if got := Ratio(a, Stats{}); got != 0 {
		t.Errorf("Ratio against no median = %v, want 0", got)
	}
}

func TestParseVmHWM(t *testing.T) {
	status := "Name:\tclaude-bottle\nVmPeak:\t 900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40000 kB\n"
	if got, ok := parseVmHWM([]byte(status)); !ok || got != 50<<20 {
		t.Errorf("parseVmHWM = %d, %v; want %d, true", got, ok, 50<<20)
	}
	for _, bad := range []string{"Name:\tx\n", "VmHWM:\t12 MB\n", "VmHWM:\tlots kB\n"} {
		if _, ok := parseVmHWM([]byte(bad)); ok {
			t.Errorf("parseVmHWM(%q) succeeded, want failure", bad)
		}
	}
}
