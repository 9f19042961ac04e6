package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Installed is a plugin recorded in the plugins folder's lock file.
type Installed struct {
	Name        string    `json:"name"`
	Path        string    `json:"path"`
	SHA256      string    `json:"sha256"`
	Source      string    `json:"source,omitempty"`
	InstalledAt time.Time `json:"installed"`
	// Description is what the plugin said of itself when installed (set by
	// Install only).
	Description *Description `json:"description,omitempty"`
	// SourceState compares the file it was installed from with the
	// installed copy (set by InstalledPlugins only): SourceSame,
	// SourceChanged (claude-bottle plugin upgrade NAME installs the new
	// one), SourceMissing, or "" when no source is recorded.
	SourceState string `json:"source_state,omitempty"`
	// Problem says why the plugin would be refused at start (its file is
	// missing or changed); nil when it is intact.
	Problem error `json:"-"`
}

// ErrAlreadyInstalled: Install of a name already installed, without
// InstallOptions.Replace.
var ErrAlreadyInstalled = errors.New("driver plugin already installed")

// InstallOptions say how Install names the plugin and whether it may
// replace one.
type InstallOptions struct {
	// Name is the driver name to install it as; empty means the part of
	// the file's name after "claude-bottle-driver-", else the name the
	// plugin gives itself.
	Name string
	// Replace allows replacing an installed plugin of that name, in one
	// step (the old copy stays until the new one is checked and in place).
	Replace bool
}

// Install copies the plugin binary src into the plugins folder as
// claude-bottle-driver-NAME and records its SHA-256 in the lock file. The
// copy is started once first (handshake and self-description) and nothing
// is installed if that fails. A name already installed is refused with
// ErrAlreadyInstalled unless o.Replace is set.
func (m *Manager) Install(ctx context.Context, src string, o InstallOptions) (Installed, error) {
	name := o.Name
	if name != "" {
		if err := m.checkNewName(name, o.Replace); err != nil {
			return Installed{}, err
		}
	}
	dir, err := m.ensurePluginsDir()
	if err != nil {
		return Installed{}, err
	}
	tmp, sum, err := copyToTemp(src, dir)
	if err != nil {
		return Installed{}, err
	}
	defer os.Remove(tmp) // a no-op once renamed into place
	desc, err := m.probeFile(ctx, tmp, sum, firstNonEmpty(name, nameFromFile(src), "new-plugin"), src)
	if err != nil {
		return Installed{}, fmt.Errorf("not installing %s: %w", src, err)
	}
	if name == "" {
		name = firstNonEmpty(nameFromFile(src), desc.Name)
		if err := m.checkNewName(name, o.Replace); err != nil {
			return Installed{}, fmt.Errorf("%w (name it with --name)", err)
		}
	}
	abs, _ := filepath.Abs(src)
	inst := Installed{
		Name: name, Path: filepath.Join(dir, BinaryName(name)), SHA256: hex.EncodeToString(sum),
		Source: abs, InstalledAt: time.Now().UTC().Truncate(time.Second), Description: &desc,
	}
	err = withDirLock(dir, func() error {
		lock, err := readLock(dir)
		if err != nil {
			return err
		}
		if e, ok := lock.Plugins[name]; ok && !o.Replace {
			return alreadyInstalled(name, e)
		}
		if err := os.Rename(tmp, inst.Path); err != nil {
			return fmt.Errorf("installing %s: %w", inst.Path, err)
		}
		lock.Plugins[name] = lockEntry{SHA256: inst.SHA256, Source: inst.Source, Installed: inst.InstalledAt}
		return writeLock(dir, lock)
	})
	if err != nil {
		return Installed{}, err
	}
	m.log.Info("installed driver plugin", "driver", name, "path", inst.Path, "sha256", inst.SHA256)
	return inst, nil
}

func alreadyInstalled(name string, e lockEntry) error {
	from := ""
	if e.Source != "" {
		from = fmt.Sprintf(" (from %s)", e.Source)
	}
	return fmt.Errorf("%w: %q is installed%s; replace it with claude-bottle plugin install --force, or reinstall it from its file with claude-bottle plugin upgrade %s",
		ErrAlreadyInstalled, name, from, name)
}

// checkNewName refuses names that are malformed, taken by a built-in,
// or (unless replace) installed already.
func (m *Manager) checkNewName(name string, replace bool) error {
	if err := validName(name); err != nil {
		return err
	}
	if _, err := driver.Lookup(name); err == nil {
		return fmt.Errorf("%w %q: a built-in driver has that name; choose another with --name", ErrInvalidName, name)
	}
	if replace || m.opts.Home == "" {
		return nil
	}
	lock, err := readLock(m.PluginsDir())
	if err != nil {
		return err
	}
	if e, ok := lock.Plugins[name]; ok {
		return alreadyInstalled(name, e)
	}
	return nil
}

func nameFromFile(p string) string {
	n, ok := strings.CutPrefix(filepath.Base(p), BinaryPrefix)
	if !ok || validName(n) != nil {
		return ""
	}
	return n
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// ensurePluginsDir creates the plugins folder (0700) and checks that it is
// safe to run plugins from.
func (m *Manager) ensurePluginsDir() (string, error) {
	if m.opts.Home == "" {
		return "", errors.New("no state root: set CLAUDE_BOTTLE_HOME or --home")
	}
	if err := os.MkdirAll(m.opts.Home, 0o700); err != nil {
		return "", fmt.Errorf("creating the state root: %w", err)
	}
	if err := checkRoot(m.opts.Home); err != nil {
		return "", err
	}
	dir := m.PluginsDir()
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("creating the plugins folder: %w", err)
	}
	return dir, checkFolder(dir, true)
}

// copyToTemp copies src into a hidden temporary file in dir (0755) and
// returns its path and SHA-256.
func copyToTemp(src, dir string) (string, []byte, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrBadPlugin, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return "", nil, err
	}
	if !fi.Mode().IsRegular() {
		return "", nil, fmt.Errorf("%w: %s is not a regular file; give the path of the plugin's executable", ErrBadPlugin, src)
	}
	out, err := os.CreateTemp(dir, ".install-*")
	if err != nil {
		return "", nil, fmt.Errorf("copying the plugin: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Chmod(0o755)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", nil, fmt.Errorf("copying the plugin: %w", err)
	}
	return out.Name(), h.Sum(nil), nil
}

// probeFile starts the plugin at path once to read its self-description.
func (m *Manager) probeFile(ctx context.Context, path string, sum []byte, name, shown string) (Description, error) {
	inst, err := m.start(ctx, Descriptor{Name: name, Source: SourceInstalled, Path: path, Verified: true, sum: sum, shown: shown})
	if err != nil {
		return Description{}, err
	}
	defer inst.kill()
	return inst.desc, nil
}

// InstalledPlugins lists the plugins in the lock file, checking that each
// file is still there and unchanged.
func (m *Manager) InstalledPlugins(ctx context.Context) ([]Installed, error) {
	dir := m.PluginsDir()
	lock, err := readLock(dir)
	if err != nil {
		return nil, err
	}
	var out []Installed
	for _, name := range lock.names() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e := lock.Plugins[name]
		in := Installed{Name: name, Path: filepath.Join(dir, BinaryName(name)), SHA256: e.SHA256, Source: e.Source, InstalledAt: e.Installed,
			SourceState: sourceState(e)}
		want, err := e.sum(name)
		in.Problem = firstErr(err, checkFile(in.Path, true))
		if in.Problem == nil {
			in.Problem = verifySum(in.Path, want)
		}
		out = append(out, in)
	}
	return out, nil
}

// Remove uninstalls plugin name: its lock entry and its file.
func (m *Manager) Remove(ctx context.Context, name string) error {
	if err := validName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := m.PluginsDir()
	p := filepath.Join(dir, BinaryName(name))
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: no plugin %q is installed (see claude-bottle plugin list)", driver.ErrNotFound, name)
	}
	return withDirLock(dir, func() error {
		lock, err := readLock(dir)
		if err != nil {
			return err
		}
		_, recorded := lock.Plugins[name]
		_, statErr := os.Lstat(p)
		if !recorded && errors.Is(statErr, fs.ErrNotExist) {
			return fmt.Errorf("%w: no plugin %q is installed (see claude-bottle plugin list)", driver.ErrNotFound, name)
		}
		if recorded {
			delete(lock.Plugins, name)
			if err := writeLock(dir, lock); err != nil {
				return err
			}
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", p, err)
		}
		m.log.Info("removed driver plugin", "driver", name, "path", p)
		return nil
	})
}
