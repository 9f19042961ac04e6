package dashboard

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Job states.
const (
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// maxJobLog bounds the progress text a job keeps (its end).
const maxJobLog = 1 << 20

// keptJobs is how many finished jobs the dashboard remembers.
const keptJobs = 50

// Job is one action the dashboard runs, its progress and its outcome, as
// /api/jobs/{id} and the "job" events give it.
type Job struct {
	ID     string `json:"id"`
	Slug   string `json:"slug"`
	Action string `json:"action"`
	// Request is the request an approval or denial decides.
	Request string     `json:"request,omitempty"`
	State   string     `json:"state"`
	Started time.Time  `json:"started"`
	Ended   *time.Time `json:"ended,omitempty"`
	// Message says the outcome in one line; Error why it failed.
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
	// Steps are the build's steps as the driver reported them.
	Steps []Step `json:"steps,omitempty"`
	// Log is the build's progress as plain text, as `--progress plain`
	// prints it.
	Log string `json:"log,omitempty"`
}

// Step is one step of a build.
type Step struct {
	Name string `json:"name"`
	// State is running, done, cached or error.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

// errBusy classes an action on a bottle that another action holds.
var errBusy = errors.New("bottle busy")

// job is a Job being run, safe for the driver's goroutine and readers.
type job struct {
	mu    sync.Mutex
	j     Job
	log   []byte
	steps map[string]int
	dirty bool
}

func (j *job) snapshot() Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := j.j
	out.Steps = append([]Step(nil), j.j.Steps...)
	out.Log = string(j.log)
	return out
}

// Write appends progress text (the plain printer writes here).
func (j *job) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.log = append(j.log, p...)
	if len(j.log) > maxJobLog {
		j.log = append([]byte("...\n"), j.log[len(j.log)-maxJobLog:]...)
	}
	j.dirty = true
	return len(p), nil
}

// Send follows the build's steps (a driver.Sink beside the printer).
func (j *job) Send(ev *driver.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, v := range ev.Vertexes {
		if v.Name == "" {
			continue
		}
		i, ok := j.steps[v.Digest]
		if !ok {
			i = len(j.j.Steps)
			j.steps[v.Digest] = i
			j.j.Steps = append(j.j.Steps, Step{})
		}
		st := Step{Name: v.Name, State: "running"}
		switch {
		case v.Error != "":
			st.State, st.Error = "error", v.Error
		case v.Cached:
			st.State = "cached"
		case v.Completed != nil:
			st.State = "done"
		}
		j.j.Steps[i] = st
	}
	j.dirty = true
}

// takeDirty reports whether the job changed since it was last published.
func (j *job) takeDirty() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	d := j.dirty
	j.dirty = false
	return d
}

func (j *job) finish(msg string, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := time.Now().UTC()
	j.j.Ended = &now
	j.j.State, j.j.Message = JobSucceeded, msg
	if err != nil {
		j.j.State, j.j.Error = JobFailed, err.Error()
	}
	j.dirty = true
}

// jobs is the registry of the dashboard's jobs: at most one running a
// bottle, and the last keptJobs finished ones.
type jobs struct {
	mu    sync.Mutex
	all   map[string]*job
	order []string
	busy  map[string]*job
}

func newJobs() *jobs { return &jobs{all: map[string]*job{}, busy: map[string]*job{}} }

// start registers a job for slug, refusing while another runs on it.
func (js *jobs) start(slug, action, requestID string) (*job, error) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if other, ok := js.busy[slug]; ok {
		o := other.snapshot()
		return nil, fmt.Errorf("%w: bottle %s is busy with %s (job %s) started at %s; wait for it to end", errBusy, slug, o.Action, o.ID, o.Started.Local().Format(time.TimeOnly))
	}
	var b [6]byte
	rand.Read(b[:])
	j := &job{j: Job{ID: "job-" + hex.EncodeToString(b[:]), Slug: slug, Action: action, Request: requestID, State: JobRunning, Started: time.Now().UTC()}, steps: map[string]int{}, dirty: true}
	js.all[j.j.ID] = j
	js.order = append(js.order, j.j.ID)
	js.busy[slug] = j
	js.trim()
	return j, nil
}

// done marks the job's bottle free again.
func (js *jobs) done(j *job) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.busy[j.j.Slug] == j {
		delete(js.busy, j.j.Slug)
	}
}

// trim forgets the oldest finished jobs beyond keptJobs.
func (js *jobs) trim() {
	for len(js.order) > keptJobs {
		id := js.order[0]
		if j := js.all[id]; j != nil && js.busy[j.j.Slug] == j {
			break
		}
		js.order = js.order[1:]
		delete(js.all, id)
	}
}

// get returns a job by ID.
func (js *jobs) get(id string) (*job, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.all[id]
	return j, ok
}

// isBusy reports whether a job runs on slug.
func (js *jobs) isBusy(slug string) bool {
	js.mu.Lock()
	defer js.mu.Unlock()
	_, ok := js.busy[slug]
	return ok
}

// list returns every job known, newest first.
func (js *jobs) list() []Job {
	js.mu.Lock()
	all := make([]*job, 0, len(js.all))
	for _, j := range js.all {
		all = append(all, j)
	}
	js.mu.Unlock()
	out := make([]Job, len(all))
	for i, j := range all {
		out[i] = j.snapshot()
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Started.After(out[b].Started) })
	return out
}
