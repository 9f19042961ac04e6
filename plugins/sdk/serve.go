package sdk

import (
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
)

// serve serves p on this process's handshake, or in go-plugin's
// in-process test mode when test is set. log is the driver's logger; nil
// means the JSON lines on stderr that the host parses as log entries.
func serve(p Plugin, test *plugin.ServeTestConfig, log *slog.Logger) error {
	if err := p.validate(); err != nil {
		return err
	}
	if log == nil {
		// go-plugin points os.Stderr at a pipe to the host's SyncStderr
		// once serving starts; logs go to the real stderr, where the host
		// parses them as log entries.
		log = slog.New(newPluginLogHandler(os.Stderr))
	}
	serveWith(newServer(p, log), test)
	return nil
}

// serveWith serves srv until the host stops it, then closes its Builder.
func serveWith(srv *server, test *plugin.ServeTestConfig) {
	p, log := srv.p, srv.log
	level := hclog.Warn
	if test == nil {
		// Once the host is gone, a write to stderr must not kill the
		// plugin before watchParent has cleaned up after it.
		signal.Ignore(syscall.SIGPIPE)
		stopWatch := watchParent(log)
		defer stopWatch()
	} else {
		// In test mode go-plugin stops by closing the listener under the
		// server, and logs that as an error.
		level = hclog.Off
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: wire.ServePlugins(srv.withBroker),
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: p.Name, Level: level, Output: os.Stderr, JSONFormat: true,
		}),
		Test: test,
	})
	// The host has stopped the server, which cancels the calls in flight;
	// give them a moment to clean up before the Builder is closed.
	srv.calls.drain(2 * time.Second)
	srv.close()
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

// pluginLogLevel is the lowest level the host keeps, as it said in the
// plugin's environment.
func pluginLogLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(os.Getenv(wire.EnvLogLevel)))); err != nil {
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
					// The folders first: the host's end of stderr is gone, and
					// the log line may be the write that kills the process.
					removeOrphanedDirs()
					log.Warn("claude-bottle went away without stopping the driver; exiting")
					stopOwnGroup()
					os.Exit(3)
				}
			}
		}
	}()
	return func() { close(done) }
}

// removeOrphanedDirs removes what the host's death left of this plugin in
// the host's private drivers folder: its TMPDIR and its socket folder,
// then the drivers folder itself once no other plugin has anything there.
// Folders elsewhere (a plugin run by hand, by another host) are not
// touched.
func removeOrphanedDirs() {
	var parents []string
	for _, env := range []string{"TMPDIR", "PLUGIN_UNIX_SOCKET_DIR"} {
		dir := os.Getenv(env)
		parent := filepath.Dir(dir)
		if dir == "" || !filepath.IsAbs(dir) || !strings.HasPrefix(filepath.Base(parent), wire.DriversDirPrefix) {
			continue
		}
		os.RemoveAll(dir)
		parents = append(parents, parent)
	}
	for _, p := range parents {
		os.Remove(p) // fails, as it should, while another plugin's files are there
	}
}

// stopOwnGroup sends SIGTERM to what the plugin started (a buildah, a
// docker build), which its dead host can no longer kill: the host runs
// each plugin as the leader of a process group of its own.
func stopOwnGroup() {
	pid := os.Getpid()
	if syscall.Getpgrp() != pid {
		return // not ours to signal: run by hand, or by another host
	}
	signal.Ignore(syscall.SIGTERM) // the plugin exits by itself, with its status
	syscall.Kill(-pid, syscall.SIGTERM)
}
