package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
)

// Options configure a Manager.
type Options struct {
	// Home is the state root; installed plugins live in Home/plugins.
	Home string
	// Self is the claude-bottle binary, which serves the built-in drivers
	// (`Self __driver-serve NAME`); empty means os.Executable().
	Self string
	// Config is what every driver is made with; it crosses to each plugin
	// once, right after it starts.
	Config driver.Config
	// Logger receives the Manager's and the plugins' logs, each plugin's
	// tagged with driver=NAME; nil discards them.
	Logger *slog.Logger
	// Stderr, if set, receives a raw copy of every plugin's stderr.
	Stderr io.Writer
	// StartTimeout bounds a plugin's start and handshake; default 10 s.
	StartTimeout time.Duration
	// CheckTimeout bounds each driver's Check in Probe, ProbeAll and
	// Default; default 5 s.
	CheckTimeout time.Duration
	// SetupTimeout bounds a plugin's setup call (Configure) after the
	// handshake; default 30 s. A plugin that stalls there is killed.
	SetupTimeout time.Duration
	// BuildTimeout bounds one build through a plugin; default 2 h. A
	// plugin that stalls mid-build is killed when it passes.
	BuildTimeout time.Duration
	// TempDir is where the private folder for the plugins' sockets is made;
	// empty means os.TempDir().
	TempDir string
}

// Manager discovers, starts and stops driver plugins. One process serves
// each driver for the Manager's life, started on first use and restarted
// after a crash. Close stops them all.
type Manager struct {
	opts Options
	self string
	log  *slog.Logger

	mu      sync.Mutex
	closed  bool
	slots   map[string]*slot
	sockDir string
	// dying tracks instances being killed, so Close can wait for them.
	dying sync.WaitGroup

	// tags is the Docker engine a failed build's tags are put back in
	// (see tagGuard), connected on first use.
	tagsOnce sync.Once
	tags     tagEngine
	tagsConn *engineTags
}

// slot holds the running instance of one driver.
type slot struct {
	mu   sync.Mutex
	inst *instance
}

// NewManager returns a Manager; it starts nothing.
func NewManager(opts Options) *Manager {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = 5 * time.Second
	}
	if opts.SetupTimeout <= 0 {
		opts.SetupTimeout = 30 * time.Second
	}
	if opts.BuildTimeout <= 0 {
		opts.BuildTimeout = 2 * time.Hour
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	self := opts.Self
	if self == "" {
		self, _ = os.Executable()
	}
	// The driver's own logger is set in the plugin; a *slog.Logger cannot
	// cross a process boundary.
	opts.Config.Logger = nil
	return &Manager{opts: opts, self: self, log: log, slots: map[string]*slot{}}
}

// Open returns the driver called name as a driver.Builder whose calls go
// to the driver's process. The process starts on the first call, not here;
// if it crashes, the call fails with a *CrashError and the next call starts
// a fresh one. The Builder is safe for concurrent use.
func (m *Manager) Open(ctx context.Context, name string) (driver.Builder, error) {
	d, err := m.find(ctx, name)
	if err != nil {
		return nil, err
	}
	return &remote{m: m, d: d}, nil
}

// Start starts driver name's process now, if it is not running, so that
// a later call finds it ready (a CLI can warm a driver while it does other
// work). Open and the Builder's calls start it on demand anyway.
func (m *Manager) Start(ctx context.Context, name string) error {
	d, err := m.find(ctx, name)
	if err != nil {
		return err
	}
	_, err = m.instance(ctx, d)
	return err
}

// Close stops every plugin process, waits for them to exit and removes the
// folder of their sockets. It is safe to call more than once; the Manager
// cannot be used afterwards.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	slots := make([]*slot, 0, len(m.slots))
	for _, s := range m.slots {
		slots = append(slots, s)
	}
	sockDir := m.sockDir
	m.mu.Unlock()
	for _, s := range slots {
		s.mu.Lock()
		if s.inst != nil {
			m.retireLocked(s, s.inst)
		}
		s.mu.Unlock()
	}
	m.dying.Wait()
	m.tagsOnce.Do(func() {}) // no connection after Close
	if m.tagsConn != nil {
		m.tagsConn.close()
	}
	if sockDir != "" {
		if err := os.RemoveAll(sockDir); err != nil {
			return fmt.Errorf("removing the plugins' socket folder: %w", err)
		}
	}
	return nil
}

// tagEngine returns the engine a failed build's tags are put back in, or
// nil if no client can be made for it.
func (m *Manager) tagEngine() tagEngine {
	m.tagsOnce.Do(func() {
		if m.tags != nil {
			return // set by a test
		}
		e, err := newEngineTags(m.opts.Config.DockerHost)
		if err != nil {
			m.log.Debug("no Docker engine client; a failed build cannot put its tags back", "error", err)
			return
		}
		m.tags, m.tagsConn = e, e
	})
	return m.tags
}

// errClosed is returned by calls through a closed Manager.
var errClosed = errors.New("the driver manager is closed")

// instance returns the running instance of d, starting one if there is
// none or the last one died.
func (m *Manager) instance(ctx context.Context, d Descriptor) (*instance, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errClosed
	}
	s := m.slots[d.Name]
	if s == nil {
		s = &slot{}
		m.slots[d.Name] = s
	}
	m.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inst != nil && s.inst.alive() {
		return s.inst, nil
	}
	if s.inst != nil {
		m.retireLocked(s, s.inst)
	}
	inst, err := m.start(ctx, d)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed { // Close ran while we were starting
		inst.kill()
		return nil, errClosed
	}
	s.inst = inst
	return inst, nil
}

// retire forgets inst (if it is still d's instance) and kills it in the
// background; Close waits for it.
func (m *Manager) retire(d Descriptor, inst *instance) {
	m.mu.Lock()
	s := m.slots[d.Name]
	m.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inst == inst {
		m.retireLocked(s, inst)
	}
}

func (m *Manager) retireLocked(s *slot, inst *instance) {
	s.inst = nil
	m.dying.Add(1)
	go func() {
		defer m.dying.Done()
		inst.kill()
	}()
}

const maxSocketBase = 40

// socketDir returns the Manager's private folder for unix sockets,
// creating it on first use. go-plugin makes one subfolder per plugin in
// it and removes that when the plugin is killed; Close removes the rest
// (a SIGKILLed plugin's socket, for one). The folder's name carries the
// process's pid: when the process dies without Close (SIGKILL, SIGPIPE, a
// panic), its orphaned plugins remove it as they exit, and the next
// Manager sweeps what is left of it.
func (m *Manager) socketDir() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return "", errClosed
	}
	if m.sockDir == "" {
		base := m.opts.TempDir
		if base == "" {
			base = os.TempDir()
		}
		// A unix socket path must fit in 108 bytes, and go-plugin adds
		// about 40 to this folder's: fall back to /tmp for long ones.
		if len(base) > maxSocketBase {
			base = "/tmp"
		}
		sweepDriversDirs(base, m.log)
		dir, err := os.MkdirTemp(base, fmt.Sprintf("%s%d-", wire.DriversDirPrefix, os.Getpid()))
		if err != nil {
			return "", fmt.Errorf("creating a folder for the drivers' sockets: %w", err)
		}
		m.sockDir = dir
	}
	return m.sockDir, nil
}
