package wire

import (
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
)

func tp(t time.Time) *time.Time { return &t }

// fullEvent sets every field of an Event, so a field the codec forgets
// fails the round trip.
func fullEvent() *driver.Event {
	t0 := time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC)
	return &driver.Event{
		Vertexes: []driver.Vertex{{
			Digest: "sha256:a", Inputs: []string{"sha256:b", "sha256:c"}, Name: "[2/3] RUN make",
			Started: tp(t0), Completed: tp(t0.Add(time.Second)), Cached: true, Error: "exit code 2",
			Group: &driver.ProgressGroup{ID: "g1", Name: "stage", Weak: true},
		}, {Digest: "sha256:b"}},
		Statuses: []driver.Status{{
			ID: "layer", Vertex: "sha256:a", Name: "transferring", Total: 1 << 40, Current: 12345,
			Timestamp: t0, Started: tp(t0), Completed: tp(t0.Add(time.Minute)),
		}, {ID: "zero-time"}},
		Logs: []driver.Log{{Vertex: "sha256:a", Stream: 2, Data: []byte("err\x00bin"), Timestamp: t0}},
		Warnings: []driver.Warning{{
			Vertex: "sha256:a", Level: 1, Short: []byte("short"), Detail: [][]byte{[]byte("d1"), []byte("d2")},
			URL:        "https://example.invalid/rule",
			SourceInfo: &driver.SourceInfo{Filename: "Dockerfile", Language: "Dockerfile", Data: []byte("FROM x"), Definition: []byte("def")},
			Ranges:     []driver.Range{{StartLine: 1, StartChar: 2, EndLine: 3, EndChar: 4}, {StartLine: 5, EndLine: 5}},
		}},
	}
}

func TestEventRoundTrip(t *testing.T) {
	for name, ev := range map[string]*driver.Event{
		"full":  fullEvent(),
		"empty": {},
		"local time": {Vertexes: []driver.Vertex{{Digest: "d",
			Started: tp(time.Date(2024, 1, 1, 12, 0, 0, 1, time.FixedZone("X", 3600)))}}},
	} {
		t.Run(name, func(t *testing.T) {
			// Through the wire format, as in real use.
			data, err := proto.Marshal(EventToPB(ev))
			if err != nil {
				t.Fatal(err)
			}
			var back pb.Event
			if err := proto.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			got := eventFromPB(&back)
			if !reflect.DeepEqual(normalize(got), normalize(ev)) {
				t.Errorf("round trip changed the event:\n got %+v\nwant %+v", got, ev)
			}
		})
	}
}

// normalize puts every time into UTC: the codec keeps instants, not zones.
func normalize(ev *driver.Event) *driver.Event {
	c := *ev
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	c.Vertexes = append([]driver.Vertex(nil), ev.Vertexes...)
	for i := range c.Vertexes {
		c.Vertexes[i].Started, c.Vertexes[i].Completed = utc(c.Vertexes[i].Started), utc(c.Vertexes[i].Completed)
	}
	c.Statuses = append([]driver.Status(nil), ev.Statuses...)
	for i := range c.Statuses {
		s := &c.Statuses[i]
		s.Timestamp = s.Timestamp.UTC()
		s.Started, s.Completed = utc(s.Started), utc(s.Completed)
	}
	c.Logs = append([]driver.Log(nil), ev.Logs...)
	for i := range c.Logs {
		c.Logs[i].Timestamp = c.Logs[i].Timestamp.UTC()
	}
	return &c
}

func TestEventToPBCopiesBytes(t *testing.T) {
	ev := &driver.Event{Logs: []driver.Log{{Data: []byte("abc")}}}
	p := EventToPB(ev)
	ev.Logs[0].Data[0] = 'X' // a driver reusing its buffer after Send
	if got := string(p.Logs[0].Data); got != "abc" {
		t.Errorf("converted event shares the driver's buffer: %q", got)
	}
}

func TestRequestRoundTrip(t *testing.T) {
	req := driver.Request{
		Dockerfile: "/r/Dockerfile", ContextDir: "/r", Tags: []string{"a:1", "b:2"},
		BuildArgs: map[string]string{"A": "1"}, Target: "dev", Labels: map[string]string{"l": "v"},
		NoCache: true, NoCacheStages: []string{"s1"}, Pull: true, Platforms: []string{"linux/amd64", "linux/arm64"},
		CacheFrom:    []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": "r/c"}}},
		CacheTo:      []driver.CacheSpec{{Type: "inline"}},
		Secrets:      []driver.SecretSpec{{ID: "tok", Src: "/f"}, {ID: "env", Env: "E"}},
		SSH:          []driver.SSHSpec{{ID: "default"}, {ID: "k", Paths: []string{"/k1", "/k2"}}},
		Push:         true,
		Outputs:      []driver.Output{{Type: "oci", Attrs: map[string]string{"dest": "/o.tar"}}},
		NoLoad:       true,
		SecretSource: driver.HostSecrets(nil), // never crosses
	}
	data, err := proto.Marshal(requestToPB(req))
	if err != nil {
		t.Fatal(err)
	}
	var back pb.Request
	if err := proto.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	want := req
	want.SecretSource = nil
	if got := RequestFromPB(&back); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the request:\n got %+v\nwant %+v", got, want)
	}
}

func TestConfigInfoResultRoundTrip(t *testing.T) {
	cfg := driver.Config{
		BuildKitAddr: "tcp://b:1234", BuildKitTLS: driver.TLSConfig{CA: "ca", Cert: "c", Key: "k", ServerName: "s"},
		BuildKitInsecure: true, DockerHost: "unix:///d.sock", DockerBin: "/usr/bin/docker",
		Opts: map[string]string{"k": "v"},
	}
	if got := ConfigFromPB(configToPB(cfg)); !reflect.DeepEqual(got, cfg) {
		t.Errorf("config: got %+v want %+v", got, cfg)
	}
	info := driver.Info{Name: "n", Version: "v", Endpoint: "e", Features: map[driver.Feature]bool{driver.FeaturePush: true, driver.FeatureSSH: false}, Notes: []string{"x"}}
	if got := infoFromPB(InfoToPB(info)); !reflect.DeepEqual(got, info) {
		t.Errorf("info: got %+v want %+v", got, info)
	}
	res := &driver.Result{ImageID: "sha256:i", Digest: "sha256:d", Tags: []string{"t"}, Steps: driver.StepCount{Total: 9, Cached: 4},
		Duration: 1234567 * time.Microsecond, Metadata: map[string]string{"m": "v"}}
	if got := resultFromPB(ResultToPB(res)); !reflect.DeepEqual(got, res) {
		t.Errorf("result: got %+v want %+v", got, res)
	}
}
