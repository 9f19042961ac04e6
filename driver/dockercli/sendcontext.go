package dockercli

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/claude-bottle/claude-bottle/driver"
)

// The legacy builder reads the Dockerfile from inside the context it is
// sent. Given a Dockerfile from outside the context (a bottle's override
// lives in the state folder), the docker CLI adds it to the context under a
// random name and appends that name to the context's .dockerignore, so a
// `COPY .` sees a new .dockerignore on every build and is never cached. For
// that case the driver sends the context itself, on docker's stdin, with
// the Dockerfile under a fixed name: the same files give the same context.

// contextDockerfile is the name the Dockerfile gets in the context the
// driver sends (`docker build -f .claude-bottle.Dockerfile -`).
const contextDockerfile = ".claude-bottle.Dockerfile"

// addedFileTime is the modification time of the files the driver adds to
// the context, fixed so that two builds send the same bytes.
var addedFileTime = time.Unix(0, 0).UTC()

// outsideContext reports whether req's Dockerfile lies outside its context
// folder once symbolic links are resolved, as the docker CLI decides it.
func outsideContext(req driver.Request) (bool, error) {
	dir, err := resolved(req.ContextDir)
	if err != nil {
		return false, fmt.Errorf("%w: build context %q: %w", driver.ErrInvalidRequest, req.ContextDir, err)
	}
	df, err := resolved(req.Dockerfile)
	if err != nil {
		return false, fmt.Errorf("%w: Dockerfile %q: %w", driver.ErrInvalidDockerfile, req.Dockerfile, err)
	}
	rel, err := filepath.Rel(dir, df)
	if err != nil {
		return true, nil
	}
	return rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)), nil
}

func resolved(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// sentContext is the build context of req as the tar stream that
// `docker build -f contextDockerfile -` reads: the files of the context
// folder less those its .dockerignore excludes (matched with the docker
// CLI's pattern matcher, the headers made as its archiver makes them), the
// .dockerignore itself with contextDockerfile appended (so that the daemon
// drops the Dockerfile before any COPY sees it, as it does with the CLI's
// random name), and the Dockerfile as contextDockerfile. A context without
// a .dockerignore gets one that names itself too, so that nothing the
// user has is changed. A file that cannot be read ends the stream with an
// error naming it.
func sentContext(req driver.Request) (io.ReadCloser, error) {
	dir, err := resolved(req.ContextDir)
	if err != nil {
		return nil, fmt.Errorf("%w: build context %q: %w", driver.ErrInvalidRequest, req.ContextDir, err)
	}
	dockerfile, err := os.ReadFile(req.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read %q: %w", driver.ErrInvalidDockerfile, req.Dockerfile, err)
	}
	ignore, patterns, err := readIgnore(dir)
	if err != nil {
		return nil, err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w: fix the pattern", driver.ErrInvalidRequest, filepath.Join(dir, ".dockerignore"), err)
	}
	if err := checkNameFree(dir, pm); err != nil {
		return nil, err
	}
	a := &contextArchive{dir: dir, pm: pm, links: map[uint64]string{}}
	r, w := io.Pipe()
	go func() { w.CloseWithError(a.write(w, withDockerfileLine(ignore), dockerfile)) }()
	return r, nil
}

// readIgnore reads the context's .dockerignore: its bytes (nil when there
// is none) and its patterns.
func readIgnore(dir string) ([]byte, []string, error) {
	path := filepath.Join(dir, ".dockerignore")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: cannot read %q: %w", driver.ErrInvalidRequest, path, err)
	}
	patterns, err := ignorefile.ReadAll(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %q: %w", driver.ErrInvalidRequest, path, err)
	}
	return data, patterns, nil
}

// withDockerfileLine is the .dockerignore to send: the context's own plus
// a line naming contextDockerfile, or, when it has none, one that names
// itself too, so that the daemon drops both.
func withDockerfileLine(ignore []byte) []byte {
	if ignore == nil {
		return []byte(".dockerignore\n" + contextDockerfile + "\n")
	}
	out := bytes.Clone(ignore)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, contextDockerfile+"\n"...)
}

func addedHeader(name string, mode int64) *tar.Header {
	return &tar.Header{Name: name, Mode: mode, Typeflag: tar.TypeReg, ModTime: addedFileTime, Format: tar.FormatPAX}
}

// checkNameFree refuses a context whose own root entry named
// contextDockerfile would be sent: the daemon would drop it from the
// context with the Dockerfile.
func checkNameFree(dir string, pm *patternmatcher.PatternMatcher) error {
	if excluded, _ := pm.MatchesOrParentMatches(contextDockerfile); excluded {
		return nil
	}
	if _, err := os.Lstat(filepath.Join(dir, contextDockerfile)); err != nil {
		return nil
	}
	return fmt.Errorf("%w: the build context %q holds %q, the name the docker driver gives an outside Dockerfile in the legacy builder's context: rename it or list it in .dockerignore",
		driver.ErrInvalidRequest, dir, contextDockerfile)
}
