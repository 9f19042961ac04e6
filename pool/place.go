package pool

import (
	"fmt"
	"math"
)

// DefaultLoadFactor caps each member at this many times its fair share
// of a batch (bounded-load hashing): one base shared by the whole batch
// then fills its owner and spills to the next members in its hash order
// instead of queueing every build on one daemon.
const DefaultLoadFactor = 1.25

// Placement is where one build of a batch goes and why.
type Placement struct {
	// Key is what the build was hashed on (the digest of the base
	// Dockerfile the bottles share).
	Key string `json:"key"`
	// Member is the member chosen; empty when no member is healthy.
	Member string `json:"member"`
	// Order is every member in Key's hash order, owner first; a failed
	// build is retried on the next healthy one after Member.
	Order []string `json:"order"`
	// Reason says, for a reader, why Member was chosen.
	Reason string `json:"reason"`
}

// Capacity is how many of n builds one of m members may take: the fair
// share n/m times factor, rounded up, and never below one.
func Capacity(n, m int, factor float64) int {
	if m <= 0 {
		return 0
	}
	if factor < 1 {
		factor = 1
	}
	return max(1, int(math.Ceil(factor*float64(n)/float64(m))))
}

// Place assigns each key of a batch to a member: the first in the key's
// hash order that is healthy (down[name] is nil) and not yet at its
// capacity for the batch. keys are placed in the order given, so the same
// batch on the same members always lands the same way. down holds the
// error of each member that failed its health check.
func Place(keys []string, members []string, down map[string]error, factor float64) []Placement {
	healthy := 0
	for _, m := range members {
		if down[m] == nil {
			healthy++
		}
	}
	capacity := Capacity(len(keys), healthy, factor)
	load := map[string]int{}
	out := make([]Placement, len(keys))
	for i, k := range keys {
		p := Placement{Key: k, Order: HashOrder(k, members)}
		var skipped []string
		for _, m := range p.Order {
			if err := down[m]; err != nil {
				skipped = append(skipped, fmt.Sprintf("%s failed its health check (%v)", m, err))
				continue
			}
			if load[m] >= capacity {
				skipped = append(skipped, fmt.Sprintf("%s is full (%d of %d builds in this batch)", m, load[m], capacity))
				continue
			}
			p.Member = m
			load[m]++
			break
		}
		p.Reason = reason(p, skipped)
		out[i] = p
	}
	return out
}

// reason words why p went where it did.
func reason(p Placement, skipped []string) string {
	short := shortKey(p.Key)
	switch {
	case p.Member == "":
		return fmt.Sprintf("no member can take it: %s", join(skipped))
	case len(skipped) == 0:
		return fmt.Sprintf("owner of %s by rendezvous hash", short)
	default:
		return fmt.Sprintf("next in %s's hash order: %s", short, join(skipped))
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "; "
		}
		out += x
	}
	return out
}

// shortKey is a key cut for messages: "sha256:0123456789ab".
func shortKey(k string) string {
	if len(k) > 19 {
		return k[:19]
	}
	return k
}
