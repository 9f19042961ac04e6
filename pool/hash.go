package pool

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// score is member's rendezvous (highest random weight) score for key: the
// member with the highest score owns the key. Adding or removing a member
// moves only the keys that member wins or owned, so the others keep
// landing where their layers already are.
func score(key, member string) uint64 {
	h := sha256.New()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(member))
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// HashOrder returns the members in key's rendezvous order, owner first:
// the order a build of key tries them in when one is down or full. Ties,
// which need a hash collision, fall back to the name so the order is
// always the same.
func HashOrder(key string, members []string) []string {
	type scored struct {
		name string
		s    uint64
	}
	sc := make([]scored, len(members))
	for i, m := range members {
		sc[i] = scored{m, score(key, m)}
	}
	slices.SortFunc(sc, func(a, b scored) int {
		switch {
		case a.s > b.s:
			return -1
		case a.s < b.s:
			return 1
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	out := make([]string, len(sc))
	for i, s := range sc {
		out[i] = s.name
	}
	return out
}
