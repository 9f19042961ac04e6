package dockerfile

import (
	"crypto/sha256"
	"sync"
)

// A build of many bottles parses each Dockerfile several times (the
// batch's checks, the up-to-date key, the failed step's line); BuildKit's
// parser costs a tenth of a millisecond or more each time, which a batch
// of up-to-date bottles feels. Parse keeps what it parsed, keyed by the
// name and the bytes, and hands back the same *File: a File is never
// changed after Parse returns it.
var parsed struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*File
}

// cacheMax bounds the cache: a long-lived process (the dashboard) drops
// it whole when it is full rather than growing.
const cacheMax = 256

func cacheKey(name string, data []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(data)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func cached(name string, data []byte) *File {
	k := cacheKey(name, data)
	parsed.mu.Lock()
	defer parsed.mu.Unlock()
	return parsed.m[k]
}

func remember(name string, data []byte, f *File) {
	k := cacheKey(name, data)
	parsed.mu.Lock()
	defer parsed.mu.Unlock()
	if parsed.m == nil || len(parsed.m) >= cacheMax {
		parsed.m = map[[sha256.Size]byte]*File{}
	}
	parsed.m[k] = f
}
