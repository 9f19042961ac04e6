package plugins

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Where a driver comes from.
const (
	// SourceBuiltin: a driver compiled into claude-bottle, served by the
	// claude-bottle binary itself.
	SourceBuiltin = "built-in"
	// SourceInstalled: a plugin installed into the state root's plugins
	// folder with `claude-bottle plugin install`; its checksum is checked
	// before every start.
	SourceInstalled = "installed"
	// SourcePath: a claude-bottle-driver-NAME found on $PATH. It may be
	// used by name (--driver NAME) but is never the default, and runs
	// unverified: no checksum was recorded for it.
	SourcePath = "PATH"
)

// Descriptor is a driver found by discovery; no process has been started
// to find it.
type Descriptor struct {
	// Name is the driver's name (--driver=NAME).
	Name string `json:"name"`
	// Source is SourceBuiltin, SourceInstalled or SourcePath.
	Source string `json:"source"`
	// Path is the executable that serves the driver: the claude-bottle
	// binary for built-ins.
	Path string `json:"path"`
	// BuiltIn is true for drivers compiled into claude-bottle.
	BuiltIn bool `json:"built_in"`
	// Verified is true for built-ins and for installed plugins, whose
	// binary is checked against the checksum recorded at install before
	// every start.
	Verified bool `json:"verified"`
	// Priority is a built-in's priority; plugins tell theirs when started.
	Priority *int `json:"priority,omitempty"`
	// Usage is a built-in's one-line description.
	Usage string `json:"usage,omitempty"`
	// Err says why this driver cannot be used (an unsafe folder, a file
	// that is not executable, a name taken by a built-in); nil if it can.
	Err error `json:"-"`

	sum   []byte // installed plugins: the SHA-256 recorded at install
	shown string // how errors name the file, if not by Path
}

// Drivers lists every driver: built-ins first (highest priority first),
// then installed plugins, then plugins on $PATH, each group by name. A
// plugin that cannot be used is listed with Err saying why. It starts no
// process.
func (m *Manager) Drivers(ctx context.Context) ([]Descriptor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Descriptor
	taken := map[string]string{}
	for _, f := range driver.Factories() {
		prio := f.Priority
		out = append(out, Descriptor{
			Name: f.Name, Source: SourceBuiltin, Path: m.self, BuiltIn: true,
			Verified: true, Priority: &prio, Usage: f.Usage,
		})
		taken[f.Name] = SourceBuiltin
	}
	installed, err := m.installedDescriptors()
	if err != nil {
		return nil, err
	}
	for _, d := range append(installed, pathDescriptors(taken)...) {
		if src, ok := taken[d.Name]; ok && d.Err == nil {
			d.Err = fmt.Errorf("%w: %s is ignored: the %s driver %q has the same name; reinstall it under another (claude-bottle plugin install %s --name OTHER)", ErrBadPlugin, d.Path, src, d.Name, d.Path)
		}
		if _, ok := taken[d.Name]; !ok {
			taken[d.Name] = d.Source
		}
		out = append(out, d)
	}
	return out, nil
}

// find returns the driver name refers to.
func (m *Manager) find(ctx context.Context, name string) (Descriptor, error) {
	ds, err := m.Drivers(ctx)
	if err != nil {
		return Descriptor{}, err
	}
	var names []string
	for _, d := range ds {
		if d.Name == name {
			return d, d.Err
		}
		if d.Err == nil {
			names = append(names, d.Name)
		}
	}
	return Descriptor{}, fmt.Errorf("%w: no driver %q (available: %s); install a plugin with claude-bottle plugin install PATH, or see claude-bottle drivers",
		driver.ErrNotFound, name, strings.Join(names, ", "))
}

// PluginsDir is the folder installed plugins live in: <home>/plugins.
func (m *Manager) PluginsDir() string { return filepath.Join(m.opts.Home, "plugins") }

func (m *Manager) installedDescriptors() ([]Descriptor, error) {
	if m.opts.Home == "" {
		return nil, nil
	}
	dir := m.PluginsDir()
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	dirErr := firstErr(checkRoot(m.opts.Home), checkFolder(dir, true))
	lock, lockErr := readLock(dir)
	var out []Descriptor
	recorded := map[string]bool{}
	for _, name := range lock.names() {
		e := lock.Plugins[name]
		p := filepath.Join(dir, BinaryName(name))
		recorded[BinaryName(name)] = true
		d := Descriptor{Name: name, Source: SourceInstalled, Path: p, Verified: true}
		var sumErr error
		d.sum, sumErr = e.sum(name)
		d.Err = firstErr(dirErr, lockErr, validName(name), sumErr, checkFile(p, true))
		out = append(out, d)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return out, fmt.Errorf("listing the plugins folder %s: %w", dir, err)
	}
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), BinaryPrefix)
		if !ok || recorded[e.Name()] || validName(name) != nil {
			continue
		}
		p := filepath.Join(dir, e.Name())
		out = append(out, Descriptor{Name: name, Source: SourceInstalled, Path: p, Err: fmt.Errorf(
			"%w: %s was put in the plugins folder by hand, so no checksum is recorded for it; install it with claude-bottle plugin install %s",
			ErrBadPlugin, p, p)})
	}
	return out, nil
}

// pathDescriptors finds claude-bottle-driver-* on $PATH. The first of a
// name wins, as with exec.LookPath; names already taken by built-ins or
// installed plugins are skipped unless the clash needs reporting.
func pathDescriptors(taken map[string]string) []Descriptor {
	var out []Descriptor
	seen := map[string]bool{}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		// Relative entries ("." and the like) would make the driver
		// depend on the working folder: ignored, as by exec.LookPath.
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		var dirErr error
		checked := false
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), BinaryPrefix)
			if !ok || validName(name) != nil || seen[name] {
				continue
			}
			seen[name] = true
			if taken[name] == SourceInstalled {
				continue // the installed, verified copy wins quietly
			}
			if !checked {
				dirErr, checked = checkFolder(dir, false), true
			}
			p := filepath.Join(dir, e.Name())
			out = append(out, Descriptor{Name: name, Source: SourcePath, Path: p, Err: firstErr(dirErr, checkFile(p, false))})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// checkFolder refuses a folder plugins may not be run from. The plugins
// folder (strict) must be a real folder of ours that nobody else can write
// to; a $PATH folder may be a symbolic link (/bin is one on Debian) but its
// target must be owned by us or root and writable by neither its group
// (root:staff 0775 lets every member of staff replace a plugin) nor others.
func checkFolder(dir string, strict bool) error {
	stat := os.Stat
	if strict {
		stat = os.Lstat
	}
	fi, err := stat(dir)
	if err != nil {
		return fmt.Errorf("%w: plugin folder %s: %v", ErrBadPlugin, dir, err)
	}
	const writable = fs.FileMode(0o022)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: plugin folder %s is a symbolic link; make it a real folder (mkdir -m 700) and reinstall the plugins", ErrBadPlugin, dir)
	case !fi.IsDir():
		return fmt.Errorf("%w: plugin folder %s is not a folder; move it away", ErrBadPlugin, dir)
	case fi.Mode().Perm()&writable != 0:
		return fmt.Errorf("%w: plugin folder %s is writable by other users (mode %04o), so anyone could replace a plugin; run chmod go-w %s", ErrBadPlugin, dir, fi.Mode().Perm(), dir)
	}
	return checkOwner(dir, fi)
}

// checkRoot refuses a state root that holds the plugins folder when another
// user could swap that folder: the rules of checkFolder for the plugins
// folder, as package state applies them to the same root.
func checkRoot(home string) error {
	if err := checkFolder(home, true); err != nil {
		return fmt.Errorf("%w (the state root holds the plugins folder)", err)
	}
	return nil
}

// checkFile refuses a plugin file that cannot or must not be run.
func checkFile(p string, strict bool) error {
	stat := os.Stat
	if strict {
		stat = os.Lstat
	}
	fi, err := stat(p)
	if err != nil {
		return fmt.Errorf("%w: %s: %v; reinstall the plugin", ErrBadPlugin, p, err)
	}
	return checkFileInfo(p, fi)
}

// checkFileInfo is checkFile on what a stat of p found.
func checkFileInfo(p string, fi fs.FileInfo) error {
	const writable = fs.FileMode(0o022)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symbolic link; install the plugin with claude-bottle plugin install, which copies it", ErrBadPlugin, p)
	case fi.IsDir():
		return fmt.Errorf("%w: %s is a directory, not a plugin executable; remove it or rename it", ErrBadPlugin, p)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular file; remove it", ErrBadPlugin, p)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%w: %s is not executable; run chmod +x %s if it is a claude-bottle driver plugin", ErrBadPlugin, p, p)
	case fi.Mode().Perm()&writable != 0:
		return fmt.Errorf("%w: %s is writable by other users (mode %04o); run chmod go-w %s", ErrBadPlugin, p, fi.Mode().Perm(), p)
	}
	return checkOwner(p, fi)
}

// checkOwner accepts files owned by us or by root.
func checkOwner(p string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := int(st.Uid); uid != 0 && uid != os.Geteuid() {
		return fmt.Errorf("%w: %s belongs to user %d, neither you (%d) nor root; chown it or remove it", ErrBadPlugin, p, uid, os.Geteuid())
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
