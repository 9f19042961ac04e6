// Package overview is every bottle at a glance: one Row a bottle, with
// its status (running, stopped, building, waiting for approval), its
// image (base or rebuilt, ID, age), the drift of its override, its
// capabilities and pending requests, its transcript snapshot, its cwd and
// its uptime, read from the state folder, the Docker engine and the
// request records. `claude-bottle ps` prints the rows; the dashboard
// serves the very same rows at /api/bottles and streams them as they
// change, so the two always agree. Detail adds what a bottle's own page
// shows: its plan, override diff, capabilities, audit log, requests and
// last build.
//
// The rows only read; a bottle's Detail resolves its plan as `plan` does
// (which may unpack the built-in default bottle context), and the one file
// the package writes is the last build's log, for the dashboard
// (SaveBuildLog).
package overview
