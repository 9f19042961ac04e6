package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

func TestLoadValid(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "valid.toml"))
	if err != nil {
		t.Fatal(err)
	}
	want := File{
		Repo: "/src/bottle-repo", Driver: "buildkit",
		BuildKit:   BuildKit{Addr: "tcp://127.0.0.1:1234", TLSCA: "/certs/ca.pem", TLSCert: "/certs/cert.pem", TLSKey: "/certs/key.pem", Insecure: true},
		Docker:     Docker{Host: "unix:///var/run/docker.sock", Bin: "/usr/bin/docker"},
		Launch:     Launch{TranscriptDir: "/home/agent/.claude", Network: "open", PidsLimit: 256, Memory: "2g", CPUs: 1.5, ResumeCommand: "claude --continue --verbose"},
		Push:       Push{Name: "registry.example:5000/team/{image}:{tag}"},
		Egress:     Egress{Allow: []string{"pypi.org", "127.0.0.1:8080"}, AnthropicURL: "https://gateway.example/anthropic"},
		Transcript: Transcript{MaxBytes: "1g", MaxEntries: 5000, MaxDepth: 32, Timeout: "90s"},
	}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("Load(valid.toml) =\n%+v\nwant\n%+v", f, want)
	}
}

func TestLoadMissingIsEmpty(t *testing.T) {
	f, err := Load(filepath.Join(t.TempDir(), "config.toml"))
	if err != nil || !reflect.DeepEqual(f, File{}) {
		t.Fatalf("Load(missing) = %+v, %v; want empty and no error", f, err)
	}
}

// TestLoadErrors: every refused file gives one line naming the file, the
// line and the key.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"unknown_key.toml", []string{":3:", `unknown key "bogus"`, "known keys: repo, driver"}},
		{"unknown_nested_key.toml", []string{":5:", `unknown key "buildkit.foo"`, "buildkit.{addr"}},
		{"unknown_table.toml", []string{":3:", `unknown key "nope"`}},
		{"bad_type_bool.toml", []string{":4:", `key "buildkit.insecure"`, "bool"}},
		{"bad_type_string.toml", []string{":2:", `key "repo"`, "integer"}},
		{"bad_type_array.toml", []string{":2:", `key "docker.host"`}},
		{"bad_addr.toml", []string{":5:", `key "buildkit.addr"`, `"http://127.0.0.1:1234"`, "want unix://PATH"}},
		{"bad_addr_dotted.toml", []string{":2:", `key "buildkit.addr"`, `"127.0.0.1:1234"`}},
		{"bad_addr_inline.toml", []string{":4:", `key "buildkit.addr"`, `"localhost"`}},
		{"relative_transcript_dir.toml", []string{":3:", `key "launch.transcript_dir"`, "absolute path"}},
		{"syntax_error.toml", []string{":2:"}},
		{"bad_egress_allow.toml", []string{":3:", `key "egress.allow"`, `"http://evil.example/"`, "host or host:port"}},
		{"bad_anthropic_url.toml", []string{":3:", `key "egress.anthropic_url"`, "ftp://api.example"}},
		{"bad_network.toml", []string{":3:", `key "launch.network"`, `"host"`, "want \"none\""}},
		{"bad_memory.toml", []string{":4:", `key "launch.memory"`, `"lots"`, "4g"}},
		{"bad_pids.toml", []string{":2:", `key "launch.pids_limit"`, "-5"}},
		{"bad_cpus.toml", []string{":2:", `key "launch.cpus"`, "-1"}},
		{"bad_resume_command.toml", []string{":2:", `key "launch.resume_command"`, "shell command"}},
		{"bad_transcript_bytes.toml", []string{":3:", `key "transcript.max_bytes"`, `"huge"`, "2g"}},
		{"bad_transcript_timeout.toml", []string{":2:", `key "transcript.timeout"`, `"-5m"`, "5m"}},
		{"transcript_dir_outside_home.toml", []string{":2:", `key "launch.transcript_dir"`, `"/etc/claude"`, "under the agent's home"}},
		{"transcript_dir_is_home.toml", []string{":2:", `key "launch.transcript_dir"`, `"/home/node"`, "not the home itself"}},
		{"duplicate_key.toml", []string{":2:", `key "repo"`, "already defined"}},
		{"bad_pool_scheme.toml", []string{":2:", `key "buildkit.pool"`, "entry 2", `"http://b:1234"`}},
		{"bad_pool_key.toml", []string{":2:", `key "buildkit.pool"`, `unknown key "tls"`, "server_name"}},
		{"bad_pool_and_addr.toml", []string{":3:", `key "buildkit.pool"`, "not both"}},
		{"bad_pool_twice.toml", []string{":2:", "entry 2", "listed twice"}},
		{"bad_cache.toml", []string{":2:", `key "buildkit.cache"`, "no scheme"}},
		{"bad_cache_tag.toml", []string{":2:", `key "buildkit.cache"`, "no scheme, tag"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			f, err := Load(path)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Load(%s) = %+v, %v; want ErrConfig", tc.file, f, err)
			}
			for _, want := range append(tc.want, path) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if !reflect.DeepEqual(f, File{}) {
				t.Errorf("a refused file still gave settings: %+v", f)
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Load(a folder) = %v; want ErrConfig naming %s", err, path)
	}
	if _, err := Resolve(dir, Flags{}, noEnv); !errors.Is(err, ErrConfig) {
		t.Fatalf("Resolve with an unreadable config = %v", err)
	}
}

func noEnv(string) string { return "" }

func envOf(m map[string]string) Env { return func(k string) string { return m[k] } }

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, FileName), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return root
}

const fullConfig = `repo = "/from/file"
driver = "file-driver"
[buildkit]
addr = "tcp://file:1"
tls_ca = "/file/ca"
tls_cert = "/file/cert"
tls_key = "/file/key"
insecure = true
[docker]
host = "tcp://file-docker:2375"
bin = "/file/docker"
[launch]
transcript_dir = "/home/file/.claude"
network = "open"
pids_limit = 64
memory = "512m"
cpus = 2
`

var fullEnv = map[string]string{
	"CLAUDE_BOTTLE_REPO":   "/from/env",
	"CLAUDE_BOTTLE_DRIVER": "env-driver",
	"BUILDKIT_HOST":        "tcp://env:1",
	"DOCKER_HOST":          "tcp://env-docker:2375",
}

var fullFlags = Flags{
	Repo: "/from/flag", Driver: "flag-driver", BuildKitAddr: "tcp://flag:1",
	BuildKitTLSCA: "/flag/ca", BuildKitTLSCert: "/flag/cert", BuildKitTLSKey: "/flag/key",
	DockerHost: "tcp://flag-docker:2375", DockerBin: "/flag/docker", DriverOpts: map[string]string{"k": "v"},
}

// TestResolvePrecedence: flags over environment over config file over
// defaults, one layer removed at a time.
func TestResolvePrecedence(t *testing.T) {
	withFile := writeConfig(t, fullConfig)
	cases := []struct {
		name  string
		root  string
		flags Flags
		env   map[string]string
		want  Settings
	}{
		{"flags win", withFile, fullFlags, fullEnv, Settings{
			Repo: "/from/flag", RepoFrom: "--repo", Driver: "flag-driver", DriverFrom: "--driver", TranscriptDir: "/home/file/.claude", Network: "open", Limits: fileLimits,
			DriverConfig: dc("tcp://flag:1", "/flag/ca", "/flag/cert", "/flag/key", true, "tcp://flag-docker:2375", "/flag/docker", map[string]string{"k": "v"}),
		}},
		{"environment over file", withFile, Flags{}, fullEnv, Settings{
			Repo: "/from/env", RepoFrom: "$CLAUDE_BOTTLE_REPO", Driver: "env-driver", DriverFrom: "$CLAUDE_BOTTLE_DRIVER", TranscriptDir: "/home/file/.claude", Network: "open", Limits: fileLimits,
			DriverConfig: dc("tcp://env:1", "/file/ca", "/file/cert", "/file/key", true, "tcp://env-docker:2375", "/file/docker", nil),
		}},
		{"file over defaults", withFile, Flags{}, nil, Settings{
			Repo: "/from/file", RepoFrom: filepath.Join(withFile, FileName), Driver: "file-driver", DriverFrom: Position(filepath.Join(withFile, FileName), "driver"), TranscriptDir: "/home/file/.claude", Network: "open", Limits: fileLimits,
			DriverConfig: dc("tcp://file:1", "/file/ca", "/file/cert", "/file/key", true, "tcp://file-docker:2375", "/file/docker", nil),
		}},
		{"defaults", t.TempDir(), Flags{}, nil, Settings{TranscriptDir: DefaultTranscriptDir}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"DOCKER_TLS_VERIFY": "1"} // the tcp:// engines have TLS
			for k, v := range tc.env {
				env[k] = v
			}
			got, err := Resolve(tc.root, tc.flags, envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Resolve =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// fileLimits are fullConfig's limits: the flags that override them are
// launch's own, applied in the CLI.
var fileLimits = Limits{Pids: 64, Memory: 512 << 20, CPUs: 2}

func dc(addr, ca, cert, key string, insecure bool, host, bin string, opts map[string]string) driver.Config {
	return driver.Config{
		BuildKitAddr: addr, BuildKitTLS: driver.TLSConfig{CA: ca, Cert: cert, Key: key}, BuildKitInsecure: insecure,
		DockerHost: host, DockerBin: bin, Opts: opts,
	}
}

// TestResolveRelativeRepo: a relative --repo or $CLAUDE_BOTTLE_REPO is
// taken from the current folder, a relative repo in config.toml from the
// config's folder (so the plan does not change with where it is run).
func TestResolveRelativeRepo(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	root := writeConfig(t, "repo = \"bottles/main\"\n")
	s, err := Resolve(root, Flags{}, noEnv)
	if want := filepath.Join(root, "bottles", "main"); err != nil || s.Repo != want {
		t.Errorf("config repo = %q, %v; want %q", s.Repo, err, want)
	}
	s, err = Resolve(root, Flags{}, envOf(map[string]string{"CLAUDE_BOTTLE_REPO": "env-repo"}))
	if want := filepath.Join(cwd, "env-repo"); err != nil || s.Repo != want || s.RepoFrom != "$CLAUDE_BOTTLE_REPO" {
		t.Errorf("env repo = %q from %q, %v; want %q", s.Repo, s.RepoFrom, err, want)
	}
	s, err = Resolve(root, Flags{Repo: "./flag-repo/"}, noEnv)
	if want := filepath.Join(cwd, "flag-repo"); err != nil || s.Repo != want || s.RepoFrom != "--repo" {
		t.Errorf("flag repo = %q from %q, %v; want %q", s.Repo, s.RepoFrom, err, want)
	}
}

func TestResolveRefusesBadFile(t *testing.T) {
	root := writeConfig(t, "[buildkit]\naddr = \"ftp://x\"\n")
	_, err := Resolve(root, Flags{BuildKitAddr: "tcp://ok:1"}, noEnv)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), filepath.Join(root, FileName)+":2:") {
		t.Fatalf("Resolve with a bad file = %v; want ErrConfig naming the file and line 2", err)
	}
}

func BenchmarkResolve(b *testing.B) {
	root := b.TempDir()
	os.WriteFile(filepath.Join(root, FileName), []byte(fullConfig), 0o600)
	for b.Loop() {
		if _, err := Resolve(root, Flags{}, noEnv); err != nil {
			b.Fatal(err)
		}
	}
}

// TestResolvePushName: [push] name reaches the settings with the line it
// is set on, so an error about the template can point at it.
func TestResolvePushName(t *testing.T) {
	root := writeConfig(t, "driver = \"buildkit\"\n[push]\nname = \"reg.example/{image}:{tag}\"\n")
	s, err := Resolve(root, Flags{}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, FileName) + `:3: key "push.name"`; s.PushName != "reg.example/{image}:{tag}" || s.PushNameFrom != want {
		t.Errorf("PushName = %q from %q; want the template from %q", s.PushName, s.PushNameFrom, want)
	}
	if s, err := Resolve(t.TempDir(), Flags{}, noEnv); err != nil || s.PushName != "" || s.PushNameFrom != "" {
		t.Errorf("no config: PushName = %q from %q, %v", s.PushName, s.PushNameFrom, err)
	}
}

// TestResolveDashboard: the [dashboard] table reaches the settings, its
// relative certificate paths taken from the config file's folder.
func TestResolveDashboard(t *testing.T) {
	root := t.TempDir()
	cfg := "[dashboard]\nlisten = \"0.0.0.0:8443\"\ntls_cert = \"tls/cert.pem\"\ntls_key = \"/etc/key.pem\"\nallow_hosts = [\"bottles.lan\"]\n"
	if err := os.WriteFile(filepath.Join(root, FileName), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(root, Flags{}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := Dashboard{Listen: "0.0.0.0:8443", TLSCert: filepath.Join(root, "tls/cert.pem"), TLSKey: "/etc/key.pem", AllowHosts: []string{"bottles.lan"}}
	if !reflect.DeepEqual(s.Dashboard, want) {
		t.Errorf("Dashboard = %+v, want %+v", s.Dashboard, want)
	}
}
