package inbottle

// Where claude-bottle puts things inside a bottle. The host side (package
// launch) mounts them there; the in-bottle side finds them there. They
// match package bottleapi's names for the socket protocol.
const (
	// BinaryPath is where the host's claude-bottle binary is mounted,
	// read-only; it is the bottle's PID 1.
	BinaryPath = "/opt/claude-bottle/bin/claude-bottle"
	// SocketDir is the read-only mount of the bottle's run folder, which
	// holds the bottle socket.
	SocketDir = "/run/claude-bottle"
	// SocketPath is the bottle socket: HTTP to the host's supervisor.
	SocketPath = SocketDir + "/bottle.sock"
	// SocketEnv names the variable that tells in-bottle commands where the
	// socket is.
	SocketEnv = "CLAUDE_BOTTLE_SOCKET"
	// ManagedDir is Claude Code's managed configuration folder on Linux,
	// mounted read-only so the agent cannot change it.
	ManagedDir = "/etc/claude-code"
	// ForwarderAddr is the loopback address inside the bottle where PID 1
	// relays each connection to the bottle socket; the agent's proxy
	// variables point at it. Every bottle has its own loopback, so the
	// port is fixed.
	ForwarderAddr = "127.0.0.1:3128"
	// ProxyURL is the agent's HTTP(S) proxy: the loopback forwarder.
	ProxyURL = "http://" + ForwarderAddr
	// NoProxy is the agent's NO_PROXY: the loopback is reached directly.
	NoProxy = "localhost,127.0.0.1"
)
