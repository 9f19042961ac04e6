package inbottle

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// The bottle's PID 1 is the host's own claude-bottle binary, mounted
// read-only at BinaryPath and started by the engine as root with a small
// set of capabilities (see package launch). It prepares the agent's HOME,
// serves the loopback forwarder, then starts the agent as the host user
// who ran launch, with no capability at all, and stays behind it: it
// reaps orphans, passes signals on and exits with the agent's status.

// InitCommand is the hidden command of the claude-bottle binary that runs
// as a bottle's PID 1.
const InitCommand = "init"

// InitOptions are what launch tells the bottle's PID 1 on its command
// line.
type InitOptions struct {
	// UID and GID are the host user who ran launch: the agent runs as
	// them, so what it writes in the working folder is theirs.
	UID, GID int
	// UserName is that user's name on the host, given to the passwd entry
	// init adds when the image has none for UID.
	UserName string
	// ImageUser is the image's USER, "" when it declares none: its home
	// in the bottle's /etc/passwd is the agent's HOME.
	ImageUser string
	// ImageHome is the image's HOME variable: the agent's HOME when the
	// image's user has no home in /etc/passwd.
	ImageHome string
	// Proxy points the agent's proxy variables at the loopback forwarder;
	// launch sets it when the bottle has no network of its own.
	Proxy bool
	// Argv is the agent's command line, run exactly as given.
	Argv []string
}

// ErrInitUsage classes a bad init command line: launch composes it, so
// this is a bug or a hand-made call.
var ErrInitUsage = errors.New("bad init arguments")

// Args returns the command line, after the binary's path, that runs o:
// InitCommand, its flags, "--" and Argv untouched. ParseInitArgs reads it
// back.
func (o InitOptions) Args() []string {
	args := []string{InitCommand, "--uid=" + strconv.Itoa(o.UID), "--gid=" + strconv.Itoa(o.GID)}
	for _, f := range []struct{ name, value string }{
		{"user-name", o.UserName}, {"image-user", o.ImageUser}, {"image-home", o.ImageHome},
	} {
		if f.value != "" {
			args = append(args, "--"+f.name+"="+f.value)
		}
	}
	if o.Proxy {
		args = append(args, "--proxy")
	}
	args = append(args, "--")
	return append(args, o.Argv...)
}

// ParseInitArgs reads the arguments after InitCommand, as Args wrote
// them. Everything after the first "--" is the agent's command line,
// whatever it looks like; the "--" is required.
func ParseInitArgs(args []string) (InitOptions, error) {
	i := slices.Index(args, "--")
	if i < 0 {
		return InitOptions{}, fmt.Errorf("%w: no \"--\" before the agent's command in %q", ErrInitUsage, args)
	}
	var o InitOptions
	fs := flag.NewFlagSet(InitCommand, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&o.UID, "uid", -1, "")
	fs.IntVar(&o.GID, "gid", -1, "")
	fs.StringVar(&o.UserName, "user-name", "", "")
	fs.StringVar(&o.ImageUser, "image-user", "", "")
	fs.StringVar(&o.ImageHome, "image-home", "", "")
	fs.BoolVar(&o.Proxy, "proxy", false, "")
	if err := fs.Parse(args[:i]); err != nil {
		return InitOptions{}, fmt.Errorf("%w: %v", ErrInitUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return InitOptions{}, fmt.Errorf("%w: unexpected %q before \"--\"", ErrInitUsage, fs.Args())
	case o.UID < 0 || o.GID < 0:
		return InitOptions{}, fmt.Errorf("%w: --uid and --gid are required", ErrInitUsage)
	case i == len(args)-1:
		return InitOptions{}, fmt.Errorf("%w: no agent command after \"--\"", ErrInitUsage)
	}
	o.Argv = args[i+1:]
	return o, nil
}

// proxyVars are the variables the agent's HTTP clients take their proxy
// from; both spellings are common.
var proxyVars = []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy"}

// AgentEnv returns the agent's environment: PID 1's own (the image's and
// launch's variables), with HOME set to home and, with proxy, the proxy
// variables pointing at the loopback forwarder and the loopback itself
// exempt. Values of those names given by the image or --env are replaced:
// with no network of its own, no other proxy could be reached.
func AgentEnv(environ []string, home string, proxy bool) []string {
	drop := []string{"HOME"}
	if proxy {
		drop = append(drop, proxyVars...)
	}
	env := make([]string, 0, len(environ)+1+len(proxyVars))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(drop, k) {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+home)
	if proxy {
		for _, k := range proxyVars {
			v := ProxyURL
			if strings.EqualFold(k, "NO_PROXY") {
				v = NoProxy
			}
			env = append(env, k+"="+v)
		}
	}
	return env
}
