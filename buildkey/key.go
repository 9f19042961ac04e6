package buildkey

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/claude-bottle/claude-bottle/driver"
)

// formatVersion changes whenever what the key covers changes, so that a
// record made by an older claude-bottle never matches.
const formatVersion = 1

// Inputs are everything an image depends on, as the key covers them.
type Inputs struct {
	// Dockerfile is the rendered Dockerfile's bytes.
	Dockerfile []byte
	// Ignore is the ignore file the build applies (Ignore's source), or
	// nil.
	Ignore []byte
	// Request is the build request: every option (args, target, labels,
	// platforms, secrets' ids, cache imports, tags, ...). Secret values
	// are never in it.
	Request driver.Request
	// Context is the digest of the context's file metadata (Walker).
	Context string
	// Bases maps each image the Dockerfile starts from (FROM, COPY
	// --from, RUN --mount from=) to its local image ID.
	Bases map[string]string
	// Driver is the driver's name and Endpoint what it talks to (its
	// configuration: BuildKit address, TLS files, docker host and binary,
	// driver options).
	Driver   string
	Endpoint string
}

// keyForm is the serialised form the key is the digest of.
type keyForm struct {
	Format     int               `json:"format"`
	Build      string            `json:"build"`
	Dockerfile string            `json:"dockerfile"`
	Ignore     string            `json:"ignore"`
	Request    driver.Request    `json:"request"`
	Context    string            `json:"context"`
	Bases      map[string]string `json:"bases"`
	Driver     string            `json:"driver"`
	Endpoint   string            `json:"endpoint"`
}

// Sum returns the key: a digest over every input and the claude-bottle
// build that computes it (a new build may turn the same Dockerfile into a
// different image).
func (in Inputs) Sum() string {
	df := sha256.Sum256(in.Dockerfile)
	ig := sha256.Sum256(in.Ignore)
	data, _ := json.Marshal(keyForm{
		Format: formatVersion, Build: selfBuild,
		Dockerfile: hex.EncodeToString(df[:]), Ignore: hex.EncodeToString(ig[:]),
		Request: in.Request, Context: in.Context, Bases: in.Bases,
		Driver: in.Driver, Endpoint: in.Endpoint,
	}) // maps marshal in key order: the same inputs give the same bytes
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// StaticSum is Sum without the context: it tells, before the context is
// walked, whether a record can match at all.
func (in Inputs) StaticSum() string {
	in.Context = ""
	return in.Sum()
}

// selfBuild names the running claude-bottle build: its module version and
// VCS revision where the Go toolchain recorded them.
var selfBuild = func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	s := bi.Main.Path + "@" + bi.Main.Version
	for _, kv := range bi.Settings {
		if kv.Key == "vcs.revision" || kv.Key == "vcs.modified" {
			s += " " + kv.Key + "=" + kv.Value
		}
	}
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			// A development build keeps its revision while its code changes.
			s += fmt.Sprintf(" exe=%s size=%d mtime=%d", exe, st.Size(), st.ModTime().UnixNano())
		}
	}
	return s
}()

// Skippable reports whether a build of req may be skipped when its key
// matches, and if not, why not: a build that sends its image elsewhere
// than the engine's tag (a push, an output, a cache export) or that asks
// for a fresh build (--no-cache, --no-cache-filter, --pull) must run.
func Skippable(req driver.Request) (ok bool, why string) {
	switch {
	case !req.Loads():
		return false, "the image is not loaded into the engine"
	case req.NoCache || len(req.NoCacheStages) > 0:
		return false, "--no-cache"
	case req.Pull:
		return false, "--pull"
	case req.Push:
		return false, "--push"
	case len(req.CacheTo) > 0:
		return false, "--cache-to"
	}
	for _, o := range req.Outputs {
		if !o.Loads() {
			return false, "--output"
		}
	}
	return true, ""
}
