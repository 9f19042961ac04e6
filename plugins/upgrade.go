package plugins

import (
	"context"
	"fmt"

	"github.com/claude-bottle/claude-bottle/driver"
)

// How the file a plugin was installed from compares with the installed
// copy.
const (
	// SourceSame: the source file is the installed binary.
	SourceSame = "same"
	// SourceChanged: the source file has changed since the install.
	SourceChanged = "changed"
	// SourceMissing: the source file is gone or unreadable.
	SourceMissing = "missing"
)

// Upgrade reinstalls plugin name from the file it was installed from, as
// Install with Replace does: checked first, replaced in one step.
func (m *Manager) Upgrade(ctx context.Context, name string) (Installed, error) {
	if err := validName(name); err != nil {
		return Installed{}, err
	}
	lock, err := readLock(m.PluginsDir())
	if err != nil {
		return Installed{}, err
	}
	e, ok := lock.Plugins[name]
	switch {
	case !ok:
		return Installed{}, fmt.Errorf("%w: no plugin %q is installed (see claude-bottle plugin list)", driver.ErrNotFound, name)
	case e.Source == "":
		return Installed{}, fmt.Errorf("%w: no source file is recorded for plugin %q; install it again with claude-bottle plugin install PATH --force", driver.ErrNotFound, name)
	}
	return m.Install(ctx, e.Source, InstallOptions{Name: name, Replace: true})
}

// sourceState compares the file a plugin was installed from with the
// checksum recorded for the installed copy.
func sourceState(e lockEntry) string {
	if e.Source == "" {
		return ""
	}
	sum, err := fileSum(e.Source)
	switch {
	case err != nil:
		return SourceMissing
	case sum == e.SHA256:
		return SourceSame
	}
	return SourceChanged
}
