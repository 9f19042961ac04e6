package plugins

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
)

// Plugin describes a driver to serve: what it is called and how to make
// its Builder. Package plugins/sdk re-exports it for plugin authors.
type Plugin struct {
	// Name is the driver's name (--driver=NAME). A third-party plugin's
	// binary is named claude-bottle-driver-NAME.
	Name string
	// Version is the plugin's own version.
	Version string
	// Usage is one line that says what the driver is for.
	Usage string
	// Priority ranks the driver when the user names none: the
	// highest-priority driver whose Check passes is the default. Nil ranks
	// it below every built-in driver.
	Priority *int
	// New makes the Builder from the host's configuration. It must not
	// contact any daemon (Check and Build do that), so that listing
	// drivers stays fast. cfg.Logger writes to the host's log.
	New func(ctx context.Context, cfg driver.Config) (driver.Builder, error)
}

// SDKVersion is the version of this protocol implementation, reported by
// every plugin in its self-description.
const SDKVersion = "1.0.0"

func (p Plugin) validate() error {
	switch {
	case p.Name == "":
		return fmt.Errorf("%w: the plugin has no Name", ErrInvalidName)
	case validName(p.Name) != nil:
		return validName(p.Name)
	case p.New == nil:
		return fmt.Errorf("driver plugin %q has no New function", p.Name)
	}
	return nil
}

func (p Plugin) description() *pb.Description {
	d := &pb.Description{Name: p.Name, Version: p.Version, Usage: p.Usage, SdkVersion: SDKVersion}
	if p.Priority != nil {
		v := int32(*p.Priority)
		d.Priority = &v
	}
	return d
}

// Describe returns p's self-description, as `claude-bottle-driver-NAME
// describe` prints it and the host receives it after the handshake.
func (p Plugin) Describe() Description {
	return descriptionFromPB(p.description(), ProtocolVersion)
}

// Description is a plugin's self-description.
type Description struct {
	Name       string `json:"name"`
	Version    string `json:"version,omitempty"`
	Usage      string `json:"usage,omitempty"`
	Priority   *int   `json:"priority,omitempty"`
	SDKVersion string `json:"sdk_version,omitempty"`
	// Protocol is the driver protocol version spoken (negotiated, on the
	// host).
	Protocol int `json:"protocol"`
}

func descriptionFromPB(d *pb.Description, protocol int) Description {
	out := Description{Name: d.GetName(), Version: d.GetVersion(), Usage: d.GetUsage(), SDKVersion: d.GetSdkVersion(), Protocol: protocol}
	if d.Priority != nil {
		v := int(d.GetPriority())
		out.Priority = &v
	}
	return out
}

// Serve serves p as a driver plugin on this process's stdin/stdout
// handshake until the host stops it, then closes the Builder and returns.
// It returns an error at once if p is malformed; run by hand, without the
// host's handshake cookie, it prints a note to stderr and exits 1.
func Serve(p Plugin) error {
	return serve(p, nil)
}

// serve is Serve, or go-plugin's in-process test mode when test is set.
func serve(p Plugin, test *plugin.ServeTestConfig) error {
	if err := p.validate(); err != nil {
		return err
	}
	// go-plugin points os.Stderr at a pipe to the host's SyncStderr once
	// serving starts; logs go to the real stderr, where the host parses
	// them as log entries.
	logOut := os.Stderr
	log := slog.New(newPluginLogHandler(logOut))
	srv := newServer(p, log)
	if test == nil {
		stopWatch := watchParent(log)
		defer stopWatch()
	}
	level := hclog.Warn
	if test != nil {
		// In test mode go-plugin stops by closing the listener under the
		// server, and logs that as an error.
		level = hclog.Off
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: servePlugins(srv),
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: p.Name, Level: level, Output: logOut, JSONFormat: true,
		}),
		Test: test,
	})
	// The host has stopped the server, which cancels the calls in flight;
	// give them a moment to clean up before the Builder is closed.
	waitTimeout(&srv.calls, 2*time.Second)
	srv.close()
	return nil
}

// ServeBuiltin serves the built-in driver registered as name. The
// claude-bottle binary calls it from its hidden "__driver-serve NAME"
// command; the host starts built-ins exactly as it starts third-party
// plugins.
func ServeBuiltin(name string) error {
	f, err := driver.Lookup(name)
	if err != nil {
		return err
	}
	prio := f.Priority
	if os.Getenv("GOMEMLIMIT") == "" {
		// A load streams the whole image through this process; a soft
		// limit makes the GC reclaim the transfer's buffers before the heap
		// doubles, keeping the peak near the working set (bench/README.md).
		debug.SetMemoryLimit(builtinMemoryLimit)
	}
	return Serve(Plugin{Name: f.Name, Version: binaryVersion(), Usage: f.Usage, Priority: &prio, New: f.New})
}

// builtinMemoryLimit is the soft memory limit of a built-in driver's
// process; $GOMEMLIMIT overrides it.
const builtinMemoryLimit = 96 << 20

// binaryVersion is the running binary's module version ("(devel)" for a
// build from a work tree).
func binaryVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// newPluginLogHandler writes slog records in the JSON shape go-plugin's
// host parses as hclog entries (@level, @message, @timestamp), so they
// reach the host's logger with their level and fields.
func newPluginLogHandler(w io.Writer) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: pluginLogLevel(),
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", hclogLevelName(a.Value.Any()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	})
}

func hclogLevelName(v any) string {
	l, ok := v.(slog.Level)
	if !ok {
		return "info"
	}
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}

// envLogLevel carries the host's log level to the plugin, so a plugin does
// not write entries the host would drop.
const envLogLevel = "CLAUDE_BOTTLE_DRIVER_LOG_LEVEL"

func pluginLogLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(os.Getenv(envLogLevel)))); err != nil {
		return slog.LevelDebug
	}
	return l
}

// watchParent ends the plugin when its host dies without stopping it
// (killed with SIGKILL), so no driver process outlives claude-bottle.
func watchParent(log *slog.Logger) (stop func()) {
	ppid := os.Getppid()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if os.Getppid() != ppid {
					log.Warn("claude-bottle went away without stopping the driver; exiting")
					os.Exit(3)
				}
			}
		}
	}()
	return func() { close(done) }
}

type waitGroup interface{ Wait() }

func waitTimeout(wg waitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
