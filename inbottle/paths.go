package inbottle

// The loopback forwarder's address: where the agent's proxy variables
// point. The other paths a bottle sees (the binary, the socket, the
// managed configuration) are package bottleapi's.
const (
	// ForwarderAddr is the loopback address inside the bottle where PID 1
	// relays each connection to the bottle socket. Every bottle has its own
	// loopback, so the port is fixed.
	ForwarderAddr = "127.0.0.1:3128"
	// ProxyURL is the agent's HTTP(S) proxy: the loopback forwarder.
	ProxyURL = "http://" + ForwarderAddr
	// NoProxy is the agent's NO_PROXY: the loopback is reached directly.
	NoProxy = "localhost,127.0.0.1"
)
