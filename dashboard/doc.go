// Package dashboard serves claude-bottle's web dashboard: every bottle at
// a glance (the overview package's rows, updated live over server-sent
// events as state, images and containers change), a page a bottle (its
// plan, override diff, capabilities, audit log, requests and last build,
// with live build progress), and the operator's actions: approve a
// request (optionally after editing its instructions), deny it, rebuild,
// rebase, roll back and stop a bottle.
//
// Every action calls the same library function as the CLI command that
// does it (request.Store.Approve through capability.RequestApplier,
// request.Store.Deny, batch.BuildHeld, capability.Rebase,
// capability.Rollback, launch.Stop); the handlers only decode, call and
// encode.
//
// Security: the server listens on loopback unless told otherwise, and a
// non-loopback address needs TLS (Listen). Every request needs the
// start's random token, given once in the URL and then kept in an
// HttpOnly, SameSite=Strict cookie (the token is taken out of the address
// bar by a redirect); the Host header must name the dashboard (against
// DNS rebinding) and an Origin, when sent, must be the dashboard's own
// (against cross-site requests); state changes are POST only and carry
// the page's CSRF token. A request without a valid token gets 401 and
// nothing else: a page, for a browser, that says where to find the URL.
package dashboard
