package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Probe is what starting a driver found out: its self-description, its
// Info, and whether it can build here now.
type Probe struct {
	Descriptor
	// Description is the plugin's self-description, with the negotiated
	// protocol version (zero when it did not start).
	Description Description
	// Info is the driver's Info.
	Info driver.Info
	// Err says why the driver could not be started or described.
	Err error
	// CheckErr says why the driver cannot build here now (nil: it can).
	CheckErr error
	// NotRun is true for a plugin found on $PATH that ProbeAll listed
	// without starting it: an unverified binary runs only when a command
	// names it (Probe, Open).
	NotRun bool
}

// Ready reports whether the driver started and its Check passed.
func (p Probe) Ready() bool { return p.Err == nil && p.CheckErr == nil && !p.NotRun }

// Priority is the driver's rank for Default: a built-in's priority, else
// the priority the plugin declared, else below every built-in.
func (p Probe) Priority() int {
	switch {
	case p.Descriptor.Priority != nil:
		return *p.Descriptor.Priority
	case p.Description.Priority != nil:
		return *p.Description.Priority
	}
	return math.MinInt32
}

// Probe starts driver name (if it is not running), describes it and runs
// its Check, bounded by Options.CheckTimeout.
func (m *Manager) Probe(ctx context.Context, name string) Probe {
	d, err := m.find(ctx, name)
	if err != nil {
		return Probe{Descriptor: Descriptor{Name: name, Err: err}, Err: err}
	}
	return m.probe(ctx, d)
}

func (m *Manager) probe(ctx context.Context, d Descriptor) Probe {
	p := Probe{Descriptor: d, Err: d.Err}
	if p.Err != nil {
		return p
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.CheckTimeout)
	defer cancel()
	r := &remote{m: m, d: d}
	if p.Info, p.Err = r.Info(ctx); p.Err != nil {
		return p
	}
	if inst := m.current(d.Name); inst != nil {
		p.Description = inst.desc
	}
	p.CheckErr = r.Check(ctx)
	if errors.Is(p.CheckErr, context.DeadlineExceeded) {
		p.CheckErr = fmt.Errorf("%w: driver %q did not answer its check within %s", driver.ErrDaemonUnreachable, d.Name, m.opts.CheckTimeout)
	}
	return p
}

// current returns the running instance of a driver, if any.
func (m *Manager) current(name string) *instance {
	m.mu.Lock()
	s := m.slots[name]
	m.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inst
}

// ProbeAll probes every discovered driver in parallel, in Drivers' order,
// except the plugins found on $PATH: those are listed with NotRun set and
// not started, since nobody verified them and nobody asked for them.
func (m *Manager) ProbeAll(ctx context.Context) ([]Probe, error) {
	ds, err := m.Drivers(ctx)
	if err != nil {
		return nil, err
	}
	var run []Descriptor
	for _, d := range ds {
		if d.Source != SourcePath {
			run = append(run, d)
		}
	}
	probes := m.probeEach(ctx, run)
	out := make([]Probe, 0, len(ds))
	for _, d := range ds {
		if d.Source == SourcePath {
			out = append(out, Probe{Descriptor: d, Err: d.Err, NotRun: d.Err == nil})
			continue
		}
		out = append(out, probes[0])
		probes = probes[1:]
	}
	return out, nil
}

func (m *Manager) probeEach(ctx context.Context, ds []Descriptor) []Probe {
	out := make([]Probe, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = m.probe(ctx, d)
		}()
	}
	wg.Wait()
	return out
}

// Default picks the driver to build with when the user names none: the
// highest-priority one whose Check passes, among built-ins and installed
// plugins (a plugin found on PATH is never picked unasked, as it runs
// unverified). why is DefaultReason; the drivers passed over, and why,
// go to the debug log.
func (m *Manager) Default(ctx context.Context) (name, why string, err error) {
	ds, err := m.Drivers(ctx)
	if err != nil {
		return "", "", err
	}
	var cands []Descriptor
	for _, d := range ds {
		if d.Err == nil && d.Verified {
			cands = append(cands, d)
		}
	}
	return ChooseDefault(m.probeEach(ctx, cands), m.log)
}

// DefaultReason is why ChooseDefault's driver was chosen, in the words the
// preflight summary and `claude-bottle build` show beside its name.
const DefaultReason = "default: highest priority that can build here"

// ChooseDefault is the one rule that picks the default driver, whoever
// made the probes (the Manager, or claude-bottle's in-process built-ins):
// the highest-priority verified driver that is ready, built-ins first among
// equals. The reason names the drivers ranked above it that could not
// build (`claude-bottle drivers` says why); their errors are logged to log
// at debug level (nil: not logged). When none is ready, the error is a
// driver.ErrDaemonUnreachable, whatever each driver's own failure was, and
// says why each was passed over.
func ChooseDefault(probes []Probe, log *slog.Logger) (name, why string, err error) {
	var ranked []Probe
	for _, p := range probes {
		if p.Descriptor.Err == nil && p.Verified {
			ranked = append(ranked, p)
		}
	}
	sort.SliceStable(ranked, func(i, j int) bool {
		pi, pj := ranked[i].Priority(), ranked[j].Priority()
		if pi != pj {
			return pi > pj
		}
		return ranked[i].BuiltIn && !ranked[j].BuiltIn
	})
	var skipped, names []string
	for _, p := range ranked {
		if p.Ready() {
			if len(skipped) == 0 {
				return p.Name, DefaultReason, nil
			}
			if log != nil {
				log.Debug("default driver: passed over drivers ranked higher that cannot build here", "chosen", p.Name, "passed_over", strings.Join(skipped, "; "))
			}
			return p.Name, DefaultReason + "; passed over " + strings.Join(names, ", "), nil
		}
		skipped = append(skipped, fmt.Sprintf("%s: %v", p.Name, oneLine(firstErr(p.Err, p.CheckErr))))
		names = append(names, p.Name)
	}
	if len(ranked) == 0 {
		return "", "", fmt.Errorf("%w: no build driver is available; install a plugin with claude-bottle plugin install, or name one with --driver", driver.ErrDaemonUnreachable)
	}
	return "", "", fmt.Errorf("%w: no driver can build here; start the Docker engine or a buildkitd, or name a driver with --driver (%s)",
		driver.ErrDaemonUnreachable, strings.Join(skipped, "; "))
}

// oneLine joins a multi-line error message into one line.
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
