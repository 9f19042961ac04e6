package bench

import (
	"slices"
	"time"
)

// Stats summarises the counted runs of one contender.
type Stats struct {
	Runs             int
	Min, Median, Max time.Duration
}

// Summarize returns the min, median and max of samples; the median of an
// even count is the mean of the middle two. No samples give zero Stats.
func Summarize(samples []time.Duration) Stats {
	if len(samples) == 0 {
		return Stats{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Stats{Runs: n, Min: s[0], Median: med, Max: s[n-1]}
}

// Ratio is ours/peer of two medians; 0 when the peer has no median.
func Ratio(ours, peer Stats) float64 {
	if peer.Median <= 0 {
		return 0
	}
	return float64(ours.Median) / float64(peer.Median)
}
