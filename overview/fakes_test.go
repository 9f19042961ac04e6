package overview

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
)

// fakeEngine stands in for the Docker engine in these unit tests of the
// rows: containers and images as the engine would describe them.
type fakeEngine struct {
	mu         sync.Mutex
	containers []ContainerInfo
	images     map[string]ImageInfo // by tag
	err        error
}

func newFakeEngine() *fakeEngine { return &fakeEngine{images: map[string]ImageInfo{}} }

func (e *fakeEngine) Containers(context.Context) ([]ContainerInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]ContainerInfo(nil), e.containers...), e.err
}

func (e *fakeEngine) Image(_ context.Context, ref string) (ImageInfo, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return ImageInfo{}, false, e.err
	}
	img, ok := e.images[ref]
	return img, ok, nil
}

func (e *fakeEngine) Images(_ context.Context, repo string) ([]ImageInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return nil, e.err
	}
	var out []ImageInfo
	for tag, img := range e.images {
		if r, _, _ := strings.Cut(tag, ":"); r == repo {
			img.Tags = []string{tag}
			out = append(out, img)
		}
	}
	return out, nil
}

func (e *fakeEngine) addImage(tag, id string, created time.Time, labels map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.images[tag] = ImageInfo{ID: id, Created: created, Labels: labels}
}

func (e *fakeEngine) addContainer(c ContainerInfo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.containers = append(e.containers, c)
}

var errEngineDown = errors.New("engine down")
