package wire

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
)

// The codec maps driver types onto protobuf and back. Every field crosses;
// times keep their instant to the nanosecond (not their time zone), and
// empty slices and maps come back as nil.

func configToPB(c driver.Config) *pb.Config {
	return &pb.Config{
		BuildkitAddr: c.BuildKitAddr,
		BuildkitTls: &pb.TLSConfig{
			Ca: c.BuildKitTLS.CA, Cert: c.BuildKitTLS.Cert,
			Key: c.BuildKitTLS.Key, ServerName: c.BuildKitTLS.ServerName,
		},
		BuildkitInsecure: c.BuildKitInsecure,
		DockerHost:       c.DockerHost,
		DockerBin:        c.DockerBin,
		Opts:             c.Opts,
	}
}

// ConfigFromPB is the driver.Config the host sent (without a Logger: the
// plugin sets its own).
func ConfigFromPB(c *pb.Config) driver.Config {
	t := c.GetBuildkitTls()
	return driver.Config{
		BuildKitAddr: c.GetBuildkitAddr(),
		BuildKitTLS: driver.TLSConfig{
			CA: t.GetCa(), Cert: t.GetCert(), Key: t.GetKey(), ServerName: t.GetServerName(),
		},
		BuildKitInsecure: c.GetBuildkitInsecure(),
		DockerHost:       c.GetDockerHost(),
		DockerBin:        c.GetDockerBin(),
		Opts:             nilIfEmpty(c.GetOpts()),
	}
}

// InfoToPB converts a driver's Info for the host.
func InfoToPB(i driver.Info) *pb.DriverInfo {
	var feats map[string]bool
	if len(i.Features) > 0 {
		feats = make(map[string]bool, len(i.Features))
		for f, ok := range i.Features {
			feats[string(f)] = ok
		}
	}
	return &pb.DriverInfo{Name: i.Name, Version: i.Version, Endpoint: i.Endpoint, Features: feats, Notes: i.Notes}
}

func infoFromPB(i *pb.DriverInfo) driver.Info {
	var feats map[driver.Feature]bool
	if len(i.GetFeatures()) > 0 {
		feats = make(map[driver.Feature]bool, len(i.GetFeatures()))
		for f, ok := range i.GetFeatures() {
			feats[driver.Feature(f)] = ok
		}
	}
	return driver.Info{Name: i.GetName(), Version: i.GetVersion(), Endpoint: i.GetEndpoint(), Features: feats, Notes: i.GetNotes()}
}

func requestToPB(r driver.Request) *pb.Request {
	out := &pb.Request{
		Dockerfile: r.Dockerfile, ContextDir: r.ContextDir, Tags: r.Tags,
		BuildArgs: r.BuildArgs, Target: r.Target, Labels: r.Labels,
		NoCache: r.NoCache, NoCacheStages: r.NoCacheStages, Pull: r.Pull,
		Platforms: r.Platforms, Push: r.Push, NoLoad: r.NoLoad,
	}
	for _, c := range r.CacheFrom {
		out.CacheFrom = append(out.CacheFrom, &pb.CacheSpec{Type: c.Type, Attrs: c.Attrs})
	}
	for _, c := range r.CacheTo {
		out.CacheTo = append(out.CacheTo, &pb.CacheSpec{Type: c.Type, Attrs: c.Attrs})
	}
	for _, s := range r.Secrets {
		out.Secrets = append(out.Secrets, &pb.SecretSpec{Id: s.ID, Src: s.Src, Env: s.Env})
	}
	for _, s := range r.SSH {
		out.Ssh = append(out.Ssh, &pb.SSHSpec{Id: s.ID, Paths: s.Paths})
	}
	for _, o := range r.Outputs {
		out.Outputs = append(out.Outputs, &pb.Output{Type: o.Type, Attrs: o.Attrs})
	}
	return out
}

// RequestFromPB is the build request the host sent, without its
// SecretSource (the plugin's server sets one that asks the host).
func RequestFromPB(r *pb.Request) driver.Request {
	out := driver.Request{
		Dockerfile: r.GetDockerfile(), ContextDir: r.GetContextDir(), Tags: r.GetTags(),
		BuildArgs: nilIfEmpty(r.GetBuildArgs()), Target: r.GetTarget(), Labels: nilIfEmpty(r.GetLabels()),
		NoCache: r.GetNoCache(), NoCacheStages: r.GetNoCacheStages(), Pull: r.GetPull(),
		Platforms: r.GetPlatforms(), Push: r.GetPush(), NoLoad: r.GetNoLoad(),
	}
	for _, c := range r.GetCacheFrom() {
		out.CacheFrom = append(out.CacheFrom, driver.CacheSpec{Type: c.GetType(), Attrs: nilIfEmpty(c.GetAttrs())})
	}
	for _, c := range r.GetCacheTo() {
		out.CacheTo = append(out.CacheTo, driver.CacheSpec{Type: c.GetType(), Attrs: nilIfEmpty(c.GetAttrs())})
	}
	for _, s := range r.GetSecrets() {
		out.Secrets = append(out.Secrets, driver.SecretSpec{ID: s.GetId(), Src: s.GetSrc(), Env: s.GetEnv()})
	}
	for _, s := range r.GetSsh() {
		out.SSH = append(out.SSH, driver.SSHSpec{ID: s.GetId(), Paths: s.GetPaths()})
	}
	for _, o := range r.GetOutputs() {
		out.Outputs = append(out.Outputs, driver.Output{Type: o.GetType(), Attrs: nilIfEmpty(o.GetAttrs())})
	}
	return out
}

// ResultToPB converts a build's result for the host.
func ResultToPB(r *driver.Result) *pb.Result {
	return &pb.Result{
		ImageId: r.ImageID, Digest: r.Digest, Tags: r.Tags,
		StepsTotal: int64(r.Steps.Total), StepsCached: int64(r.Steps.Cached),
		DurationNs: int64(r.Duration), Metadata: r.Metadata,
	}
}

func resultFromPB(r *pb.Result) *driver.Result {
	return &driver.Result{
		ImageID: r.GetImageId(), Digest: r.GetDigest(), Tags: r.GetTags(),
		Steps:    driver.StepCount{Total: int(r.GetStepsTotal()), Cached: int(r.GetStepsCached())},
		Duration: time.Duration(r.GetDurationNs()), Metadata: nilIfEmpty(r.GetMetadata()),
	}
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// Times: a *time.Time crosses as an optional Timestamp; a time.Time that
// is always present crosses as a Timestamp that is unset for the zero time.

func tsToPB(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func tsFromPB(t *timestamppb.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.AsTime()
	return &v
}

func timeToPB(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timeFromPB(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}
