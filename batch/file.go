package batch

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/state"
)

// A bottles file is to `claude-bottle build --file` what a bake file is to
// `docker buildx bake`: the bottles a pipeline builds, each with its own
// build arguments, labels, target, push name and cache references, over
// defaults they share.
//
//	[defaults]
//	push_name = "registry.example:5000/team/{slug}:{tag}"
//	cache_to = ["type=registry,ref=registry.example:5000/cache:{slug},mode=max"]
//
//	[bottles.web]
//	build_args = { NODE_VERSION = "22" }
//	target = "final"

// Settings are one bottle's own build settings. Build gives them to the
// bottle's build over Options.Request, which wins where both set a value
// (build arguments and labels are merged key by key). The fields are the
// request's of the same names (driver.Request), PushName a push name
// template (bottle.PushName); a nil cache list is none given, an empty
// one none wanted.
type Settings struct {
	BuildArgs map[string]string  `json:"build_args,omitempty"`
	Labels    map[string]string  `json:"labels,omitempty"`
	Target    string             `json:"target,omitempty"`
	PushName  string             `json:"push_name,omitempty"`
	CacheFrom []driver.CacheSpec `json:"cache_from,omitempty"`
	CacheTo   []driver.CacheSpec `json:"cache_to,omitempty"`
}

// File is a bottles file, read by ReadFile.
type File struct {
	// Path is where it was read from, for messages.
	Path string
	// Defaults apply to every bottle the file lists.
	Defaults Settings
	// Bottles are the settings of each bottle, by slug.
	Bottles map[string]Settings
}

// fileSettings is one table of the file as written.
type fileSettings struct {
	BuildArgs map[string]string `toml:"build_args"`
	Labels    map[string]string `toml:"labels"`
	Target    string            `toml:"target"`
	PushName  string            `toml:"push_name"`
	CacheFrom []string          `toml:"cache_from"`
	CacheTo   []string          `toml:"cache_to"`
}

type fileText struct {
	Defaults fileSettings            `toml:"defaults"`
	Bottles  map[string]fileSettings `toml:"bottles"`
}

// ReadFile reads and checks a bottles file. Every error is
// driver.ErrInvalidRequest and names the file (and, for what the TOML
// decoder finds, the line): an unknown key, a bad slug, a cache that does
// not parse, a file that lists no bottle.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: --file: %w", driver.ErrInvalidRequest, err)
	}
	var text fileText
	dec := toml.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&text); err != nil {
		return nil, fileError(path, err)
	}
	if len(text.Bottles) == 0 {
		return nil, fmt.Errorf("%w: %s lists no bottle; add a [bottles.SLUG] table", driver.ErrInvalidRequest, path)
	}
	f := &File{Path: path, Bottles: map[string]Settings{}}
	if f.Defaults, err = text.Defaults.settings(path, "defaults"); err != nil {
		return nil, err
	}
	for slug, s := range text.Bottles {
		if err := state.ValidateSlug(slug); err != nil {
			return nil, fmt.Errorf("%w: %s: [bottles.%s]: %w", driver.ErrInvalidRequest, path, slug, err)
		}
		if f.Bottles[slug], err = s.settings(path, "bottles."+slug); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// fileError words a decoder error as file:line: what.
func fileError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		e := strict.Errors[0]
		row, _ := e.Position()
		return fmt.Errorf("%w: %s:%d: unknown key %q; a bottles file has [defaults] and [bottles.SLUG] tables of build_args, labels, target, push_name, cache_from and cache_to",
			driver.ErrInvalidRequest, path, row, strings.Join(e.Key(), "."))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		return fmt.Errorf("%w: %s:%d: %s", driver.ErrInvalidRequest, path, row, strings.TrimPrefix(de.Error(), "toml: "))
	}
	return fmt.Errorf("%w: %s: %v", driver.ErrInvalidRequest, path, err)
}

func (s fileSettings) settings(path, table string) (Settings, error) {
	out := Settings{BuildArgs: s.BuildArgs, Labels: s.Labels, Target: s.Target, PushName: s.PushName}
	// An empty list, written, is kept apart from none: it clears the
	// defaults' (cache_to = []).
	if s.CacheFrom != nil {
		out.CacheFrom = []driver.CacheSpec{}
	}
	if s.CacheTo != nil {
		out.CacheTo = []driver.CacheSpec{}
	}
	for _, v := range s.CacheFrom {
		c, err := driver.ParseCacheSpec(v)
		if err != nil {
			return out, fmt.Errorf("%s: [%s] cache_from: %w", path, table, err)
		}
		out.CacheFrom = append(out.CacheFrom, c)
	}
	for _, v := range s.CacheTo {
		c, err := driver.ParseCacheSpec(v)
		if err != nil {
			return out, fmt.Errorf("%s: [%s] cache_to: %w", path, table, err)
		}
		out.CacheTo = append(out.CacheTo, c)
	}
	return out, nil
}

// Slugs returns the bottles the file lists, sorted.
func (f *File) Slugs() []string {
	slugs := make([]string, 0, len(f.Bottles))
	for s := range f.Bottles {
		slugs = append(slugs, s)
	}
	sort.Strings(slugs)
	return slugs
}

// For returns the settings of bottle slug: its own over the defaults
// (build arguments and labels merged key by key), and whether the file
// lists it.
func (f *File) For(slug string) (Settings, bool) {
	own, ok := f.Bottles[slug]
	if !ok {
		return Settings{}, false
	}
	return own.over(f.Defaults), true
}

// over returns s with base's values where s has none.
func (s Settings) over(base Settings) Settings {
	out := Settings{
		BuildArgs: merged(base.BuildArgs, s.BuildArgs), Labels: merged(base.Labels, s.Labels),
		Target: first(s.Target, base.Target), PushName: first(s.PushName, base.PushName),
		CacheFrom: s.CacheFrom, CacheTo: s.CacheTo,
	}
	if out.CacheFrom == nil {
		out.CacheFrom = base.CacheFrom
	}
	if out.CacheTo == nil {
		out.CacheTo = base.CacheTo
	}
	return out
}

// merged returns base with over's keys set over it (nil when both are).
func merged(base, over map[string]string) map[string]string {
	if len(base) == 0 && len(over) == 0 {
		return nil
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, over)
	return out
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// apply puts s under req: req's own values win.
func (s Settings) apply(req driver.Request) driver.Request {
	req.BuildArgs = merged(s.BuildArgs, req.BuildArgs)
	req.Labels = merged(s.Labels, req.Labels)
	req.Target = first(req.Target, s.Target)
	if len(req.CacheFrom) == 0 {
		req.CacheFrom = s.CacheFrom
	}
	if len(req.CacheTo) == 0 {
		req.CacheTo = s.CacheTo
	}
	return req
}
