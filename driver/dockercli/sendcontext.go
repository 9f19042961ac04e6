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
	"syscall"
	"time"

	"github.com/moby/go-archive"
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

// contextArchive writes one sent context.
type contextArchive struct {
	dir   string
	pm    *patternmatcher.PatternMatcher
	tw    *tar.Writer
	links map[uint64]string // inode -> first name, for hard links
}

func (a *contextArchive) write(w io.Writer, ignore, dockerfile []byte) error {
	a.tw = tar.NewWriter(w)
	sentIgnore := false
	err := filepath.WalkDir(a.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("cannot read %q: %w", path, err)
		}
		rel, err := filepath.Rel(a.dir, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == ".dockerignore" {
			// Sent whatever its own patterns say: the daemon reads it.
			sentIgnore = true
			return a.addIgnore(path, d, ignore)
		}
		if skip, err := a.excluded(rel, d.IsDir()); skip || err != nil {
			return err
		}
		return a.add(path, rel)
	})
	if err != nil {
		return err
	}
	if !sentIgnore {
		if err := a.addData(addedHeader(".dockerignore", 0o644), ignore); err != nil {
			return err
		}
	}
	if err := a.addData(addedHeader(contextDockerfile, 0o600), dockerfile); err != nil {
		return err
	}
	return a.tw.Close()
}

// excluded reports whether .dockerignore leaves rel out, as
// filepath.SkipDir for a folder nothing under which an exception can bring
// back; a folder that one might is walked but not itself sent, as the
// docker CLI does.
func (a *contextArchive) excluded(rel string, isDir bool) (bool, error) {
	skip, err := a.pm.MatchesOrParentMatches(rel)
	if err != nil || !skip {
		return false, err
	}
	if !isDir {
		return true, nil
	}
	for _, p := range a.pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+"/", rel+"/") {
			return true, nil
		}
	}
	return true, filepath.SkipDir
}

// add sends one file, folder or link with the header the docker CLI's
// archiver gives it, owned by root.
func (a *contextArchive) add(path, rel string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("cannot read %q: %w", path, err)
	}
	if fi.Mode()&fs.ModeSocket != 0 {
		return nil // a tar cannot hold one; the docker CLI leaves it out too
	}
	var link string
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(path); err != nil {
			return fmt.Errorf("cannot read %q: %w", path, err)
		}
	}
	hdr, err := archive.FileInfoHeader(rel, fi, link)
	if err != nil {
		return fmt.Errorf("cannot archive %q: %w", path, err)
	}
	if err := archive.ReadSecurityXattrToTarHeader(path, hdr); err != nil {
		return fmt.Errorf("cannot archive %q: %w", path, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && !fi.IsDir() && st.Nlink > 1 {
		if first, seen := a.links[st.Ino]; seen {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		} else {
			a.links[st.Ino] = hdr.Name
		}
	}
	hdr.Uid, hdr.Gid = 0, 0
	if err := a.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read %q: %w", path, err)
	}
	defer f.Close()
	if _, err := io.Copy(a.tw, f); err != nil {
		return fmt.Errorf("cannot send %q (did it change during the build?): %w", path, err)
	}
	return nil
}

// addIgnore sends the .dockerignore to send under the header of the
// context's own, when that is a regular file.
func (a *contextArchive) addIgnore(path string, d fs.DirEntry, data []byte) error {
	hdr := addedHeader(".dockerignore", 0o644)
	if d.Type().IsRegular() {
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("cannot read %q: %w", path, err)
		}
		if hdr, err = archive.FileInfoHeader(".dockerignore", fi, ""); err != nil {
			return fmt.Errorf("cannot archive %q: %w", path, err)
		}
		hdr.Uid, hdr.Gid = 0, 0
	}
	return a.addData(hdr, data)
}

func (a *contextArchive) addData(hdr *tar.Header, data []byte) error {
	hdr.Size = int64(len(data))
	if err := a.tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := a.tw.Write(data)
	return err
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
