package buildkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/moby/api/types/jsonstream"
	dockerclient "github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/driver"
)

// loader streams a standalone buildkitd's docker-format export straight
// into the engine's image-load API, with no temporary file. Before any byte
// is sent it asks the engine for the image: the exporter hands the config
// digest (the engine's image ID) to the output function first, and an
// output function that returns no writer makes buildkitd skip sending the
// tarball, so a rebuild the engine already holds costs one inspect call.
type loader struct {
	ctx    context.Context
	docker *dockerclient.Client

	mu      sync.Mutex
	skipped bool
	imageID string
	loadErr error
}

// output is the docker exporter's filesync.FileOutputFunc.
func (l *loader) output(md map[string]string) (io.WriteCloser, error) {
	id := md[exptypes.ExporterImageConfigDigestKey]
	l.mu.Lock()
	l.imageID = id
	l.mu.Unlock()
	if id != "" {
		has, err := l.engineHas(id)
		if err != nil {
			return nil, err
		}
		if has {
			l.mu.Lock()
			l.skipped = true
			l.mu.Unlock()
			// No writer: the daemon reads this as "already exists" and
			// sends nothing.
			return nil, nil
		}
	}
	pr, pw := io.Pipe()
	w := &loadWriter{PipeWriter: pw, done: make(chan error, 1)}
	go func() {
		err := l.load(pr)
		if err != nil {
			l.mu.Lock()
			l.loadErr = err
			l.mu.Unlock()
		}
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w, nil
}

// engineHas reports whether the engine holds image id.
func (l *loader) engineHas(id string) (bool, error) {
	_, err := l.docker.ImageInspect(l.ctx, id)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("ask the Docker engine for image %s: %w", id, err)
	}
}

// load sends r to the engine's image-load API and reads its answer, which
// reports errors inside a 200 response.
func (l *loader) load(r io.Reader) error {
	res, err := l.docker.ImageLoad(l.ctx, r, dockerclient.ImageLoadWithQuiet(true))
	if err != nil {
		return engineLost("load the image into the Docker engine", err)
	}
	defer res.Close()
	dec := json.NewDecoder(res)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return engineLost("read the Docker engine's image-load answer", err)
		}
		if m.Error != nil {
			return fmt.Errorf("the Docker engine refused the image: %s", m.Error.Message)
		}
	}
}

// failure returns the error the engine's load ended with, if it failed.
func (l *loader) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loadErr
}

// engineLost words an error talking to the engine; a connection that failed
// or broke is classed as the engine being unreachable.
func engineLost(what string, err error) error {
	if dockerclient.IsErrConnectionFailed(err) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w: %s: the connection to the Docker engine broke (%v); is dockerd running? (check DOCKER_HOST or --docker-host)", driver.ErrDaemonUnreachable, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// result returns the image ID the exporter announced and whether sending
// was skipped because the engine had it.
func (l *loader) result() (imageID string, skipped bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.imageID, l.skipped
}

// loadWriter is the export's writer: closing it waits for the engine to
// finish loading, so the build fails if the load does.
type loadWriter struct {
	*io.PipeWriter
	done chan error
}

func (w *loadWriter) Close() error {
	if err := w.PipeWriter.Close(); err != nil {
		return err
	}
	return <-w.done
}
