// Package buildkey decides whether a bottle's image is up to date without
// asking a builder to solve it: a key over everything the image depends on
// (the Dockerfile's bytes, the build request's options, the context's file
// metadata, the local IDs of the images it starts from, the driver and its
// endpoint, the claude-bottle build) is recorded with the image ID the
// build made, and a later build whose key matches, while the engine still
// has that ID under the tag, need not run.
//
// Anything the key cannot see makes a build not skippable (Inputs.Skippable
// says why): a remote ADD, a # syntax= frontend image, a FROM that names
// an ARG or an image the engine does not have, a push, an output, a cache
// export, --no-cache, --pull.
//
// The context's metadata is what BuildKit's own incremental transfer
// compares (path, mode, size, mtime, owner, link target, xattrs, devices),
// read in one walk per context folder and ignore patterns (Walker), with
// .dockerignore applied as the build applies it.
package buildkey
