package dockercli

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/moby/go-archive"
	"github.com/moby/patternmatcher"
)

// contextArchive writes one sent context.
type contextArchive struct {
	dir   string
	pm    *patternmatcher.PatternMatcher
	tw    *tar.Writer
	links map[uint64]string // inode -> first name, for hard links
}

// write writes the context folder's entries in walk order, the
// .dockerignore to send (ignore) in its place or after them, and the
// Dockerfile last, as one tar stream to w.
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
