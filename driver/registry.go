package driver

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
)

// Config is what a driver is made with: the endpoints and options the user
// chose with flags, environment and config file. It crosses the plugin
// boundary whole, so it holds values only.
type Config struct {
	// BuildKitAddr is a BuildKit address (unix://, tcp://,
	// docker-container://); empty means the Docker engine's embedded BuildKit.
	BuildKitAddr string `json:"buildkit_addr,omitempty"`
	// BuildKitTLS is the client TLS for a tcp:// BuildKitAddr.
	BuildKitTLS TLSConfig `json:"buildkit_tls,omitempty"`
	// BuildKitInsecure allows a tcp:// address without TLS.
	BuildKitInsecure bool `json:"buildkit_insecure,omitempty"`
	// DockerHost is the Docker engine to load images into ($DOCKER_HOST);
	// empty means the client's default.
	DockerHost string `json:"docker_host,omitempty"`
	// DockerBin is the docker CLI the user chose (--docker-bin) for the
	// drivers that run one: the built-in docker driver, or a plugin that
	// wraps docker. Empty means docker on PATH.
	DockerBin string `json:"docker_bin,omitempty"`
	// Opts are driver-specific options (--driver-opt KEY=VALUE), for
	// third-party drivers above all.
	Opts map[string]string `json:"opts,omitempty"`
	// Logger receives the driver's diagnostic logs; nil means discard.
	Logger *slog.Logger `json:"-"`
}

// TLSConfig names client certificate files for a tcp:// BuildKit.
type TLSConfig struct {
	CA         string `json:"ca,omitempty"`
	Cert       string `json:"cert,omitempty"`
	Key        string `json:"key,omitempty"`
	ServerName string `json:"server_name,omitempty"`
}

// Log returns c.Logger, or a logger that discards when none was set.
func (c Config) Log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Factory makes a Builder of one kind.
type Factory struct {
	// Name is the driver's name (--driver=NAME).
	Name string
	// Usage is one line that says what the driver is for.
	Usage string
	// Priority orders drivers when the user names none: the highest whose
	// Check passes is the default.
	Priority int
	// New makes the Builder. It must not contact any daemon: that is
	// Check's and Build's work, so that listing drivers stays fast.
	New func(ctx context.Context, cfg Config) (Builder, error)
}

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register adds a driver factory. Registering a name twice is a programming
// error and panics, as two drivers of one name could not be told apart.
func Register(f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if f.Name == "" || f.New == nil {
		panic("driver: Register needs a name and a New function")
	}
	if _, dup := factories[f.Name]; dup {
		panic(fmt.Sprintf("driver: %q registered twice", f.Name))
	}
	factories[f.Name] = f
}

// Lookup returns the factory registered under name.
func Lookup(name string) (Factory, error) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := factories[name]
	if !ok {
		return Factory{}, fmt.Errorf("%w: no built-in driver %q (built-in: %v)", ErrNotFound, name, namesLocked())
	}
	return f, nil
}

// Factories returns every registered factory, highest priority first.
func Factories() []Factory {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Factory, 0, len(factories))
	for _, f := range factories {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority > out[j].Priority
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func namesLocked() []string {
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
