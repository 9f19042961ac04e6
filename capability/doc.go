// Package capability keeps what a bottle's operator approved on top of the
// bottle's base Dockerfile: an ordered list of capabilities in
// state/<slug>/capabilities.json, the override rendered from the base and
// that list (never hand-merged), the drift of the base since it was
// rendered, and the audit log of every change.
//
// A change is applied by Apply as build, then swap: the new override is
// rendered to a temporary file and built through a driver.Builder to a
// temporary tag; only when the build succeeds does the bottle's tag move
// (the image it replaces kept as claude-bottle-rebuilt-<slug>:previous)
// and the new state become current. A failed build changes nothing and
// names the capability whose instructions failed. Rollback goes back one
// step: the list, the override and the tag together. The CLI, request
// approval and the dashboard all change capabilities through these calls.
package capability
