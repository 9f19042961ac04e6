package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/inbottle"
	"github.com/claude-bottle/claude-bottle/request"
)

func newRequestCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "request",
		Short: "List, show, approve and deny the requests bottles make; in a bottle, make one",
	}
	cmd.AddCommand(a.newRequestListCmd(), a.newRequestShowCmd(), a.newRequestApproveCmd(),
		a.newRequestDenyCmd(), a.newRequestCapabilityCmd(), a.newRequestEgressCmd(), a.newRequestWaitCmd())
	groupCommand(cmd)
	return cmd
}

// requestApplier opens what builds an approved request into bottle
// slug's image, as `capability add` opens it (the driver, the engine, the
// progress display), and returns capability.RequestApplier over it (build,
// then swap) with the function that closes it. It is opened before the
// decision, so a driver that cannot start refuses the approval with the
// request still open. Tests replace it.
var requestApplier = func(a *app, cmd *cobra.Command, slug string, f *changeFlags) (request.Applier, func(), error) {
	ch, err := a.newChange(cmd, slug, f)
	if err != nil {
		return nil, nil, err
	}
	opts, err := ch.start()
	if err != nil {
		ch.close()
		return nil, nil, err
	}
	plan := opts.Plan
	ap := capability.RequestApplier{Options: opts, Plan: func(string) (*bottle.Plan, error) { return plan, nil }}
	return reportingApplier{ap, ch}, ch.close, nil
}

// reportingApplier ends the progress display when the build ends, and
// after a failed build prints the failed step's last output, as
// `capability add` does.
type reportingApplier struct {
	request.Applier
	ch *change
}

// Apply applies the request and reports on its build.
func (r reportingApplier) Apply(ctx context.Context, in request.ApplyInput) (request.ApplyResult, error) {
	res, err := r.Applier.Apply(ctx, in)
	if err != nil {
		r.ch.report(nil, err)
	} else if r.ch.printer != nil {
		r.ch.printer.Wait()
		r.ch.printer = nil
	}
	return res, err
}

// requests opens the request store on the state root.
func (a *app) requests() (*request.Store, error) {
	st, err := a.store()
	if err != nil {
		return nil, err
	}
	return request.NewStore(st), nil
}

// requestErr makes the request library's refusals bad usage (exit 2):
// unknown IDs, decided requests and refused input.
func requestErr(err error) error {
	for _, class := range []error{request.ErrNotFound, request.ErrDecided, request.ErrNoInstructions, bottleapi.ErrInvalid} {
		if errors.Is(err, class) {
			return usageErr(err)
		}
	}
	return err
}

func checkFormat(format string) error {
	if format != "text" && format != "json" {
		return usageErr(fmt.Errorf("--format %q: want text or json", format))
	}
	return nil
}

func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) newRequestListCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list [SLUG]",
		Short: "List the requests of every bottle, or of one",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErr(fmt.Errorf("list takes at most one SLUG (got %d arguments)", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			store, err := a.requests()
			if err != nil {
				return err
			}
			var rs []*request.Request
			if len(args) == 1 {
				rs, err = store.List(args[0])
			} else {
				rs, err = store.ListAll()
			}
			if err != nil {
				return err
			}
			if format == "json" {
				if rs == nil {
					rs = []*request.Request{}
				}
				return writeJSONOut(a.io.out, rs)
			}
			return writeRequestList(a.io.out, rs)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func writeRequestList(w io.Writer, rs []*request.Request) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tBOTTLE\tSTATE\tKIND\tNAME\tASKS\tCREATED\tREASON")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Slug, r.State, r.Kind, r.Name,
			clipText(asks(r), 40), r.CreatedAt.Local().Format("2006-01-02 15:04"), clipText(r.Reason, 60))
	}
	return tw.Flush()
}

// asks says in a few words what a request asks for.
func asks(r *request.Request) string {
	run, pkgs := r.Instructions()
	switch {
	case len(pkgs) > 0:
		return "packages " + strings.Join(pkgs, " ")
	case len(run) > 0:
		return "run " + strings.Join(run, "; ")
	case len(r.Hosts) > 0:
		return "hosts " + strings.Join(r.Hosts, " ")
	}
	return "-"
}

func clipText(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-3]) + "..."
}

func (a *app) newRequestShowCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a request and what approving it would add to the bottle's image",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			store, err := a.requests()
			if err != nil {
				return err
			}
			r, err := store.Find(args[0])
			if err != nil {
				return requestErr(err)
			}
			if format == "json" {
				return writeJSONOut(a.io.out, r)
			}
			return writeRequest(a.io.out, r)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func writeRequest(w io.Writer, r *request.Request) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("request", r.ID)
	row("bottle", r.Slug)
	state := string(r.State)
	if r.State == bottleapi.StatePending && !r.Deadline.IsZero() {
		state += " (its requester waits until " + r.Deadline.Local().Format(time.DateTime) + ")"
	}
	row("state", state)
	row("kind", string(r.Kind))
	row("name", r.Name)
	row("from", string(r.Origin))
	row("reason", r.Reason)
	row("created", r.CreatedAt.Local().Format(time.DateTime))
	if !r.DecidedAt.IsZero() {
		row("decided", strings.TrimSpace(r.DecidedAt.Local().Format(time.DateTime)+" by "+r.DecidedBy))
	}
	row("denied", r.DenyReason)
	if r.Edited != nil {
		row("edited", r.Edited.Summary)
	}
	row("image", r.ImageID)
	tw.Flush()
	if r.Error != "" {
		fmt.Fprintf(w, "\nbuild error:\n%s\n", indent(r.Error))
	}
	if e := r.Evidence; e != nil {
		fmt.Fprintf(w, "\nseen by the hook, %s failed:\n", e.Tool)
		if e.Command != "" {
			fmt.Fprintf(w, "  command:\n%s\n", indent(indent(e.Command)))
		}
		if e.Error != "" {
			fmt.Fprintf(w, "  error:\n%s\n", indent(indent(e.Error)))
		}
	}
	fmt.Fprintf(w, "\napproving adds to the image:\n%s", indent(r.Preview()))
	return nil
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

// approveOptions are the flags of `request approve`.
type approveOptions struct {
	changeFlags
	edit     bool
	run      []string
	packages []string
}

func (a *app) newRequestApproveCmd() *cobra.Command {
	var o approveOptions
	cmd := &cobra.Command{
		Use:   "approve ID [--edit | --run CMD... | --package PKG...]",
		Short: "Approve a request and build it into its bottle's image",
		Long: "Approves the request and builds it into the bottle's image (build, then swap the tag).\n" +
			"--run and --package replace the requested instructions; --edit opens $EDITOR on them.\n" +
			"The bottle's agent is told what changed. A request already decided is refused (exit 2).",
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runApprove(cmd, args[0], &o)
		},
	}
	o.changeFlags.bind(cmd, false)
	fl := cmd.Flags()
	fl.BoolVar(&o.edit, "edit", false, "edit the instructions in $EDITOR before approving")
	fl.StringArrayVar(&o.run, "run", nil, "run this command instead of what was asked (repeatable, one RUN line each)")
	fl.StringSliceVar(&o.packages, "package", nil, "install these packages instead of what was asked (repeatable or comma-separated)")
	return cmd
}

func (a *app) runApprove(cmd *cobra.Command, id string, o *approveOptions) error {
	if o.edit && (len(o.run) > 0 || len(o.packages) > 0) {
		return usageErr(errors.New("give --edit, or --run/--package, not both"))
	}
	store, err := a.requests()
	if err != nil {
		return err
	}
	found, err := store.Find(id)
	if err != nil {
		return requestErr(err)
	}
	opts := request.ApproveOptions{ID: id, By: operatorName(), Run: o.run, Packages: o.packages}
	if !found.State.Open() {
		_, err := store.Approve(cmd.Context(), opts) // says it was decided, and changes nothing
		return requestErr(err)
	}
	if o.edit {
		if opts.Run, opts.Packages, err = a.editInstructions(found); err != nil {
			return err
		}
	}
	if found.Kind == bottleapi.KindEgress {
		o.changeFlags.noBuild = true // egress adds nothing to the image: no driver to open
	}
	applier, closeApplier, err := requestApplier(a, cmd, found.Slug, &o.changeFlags)
	if err != nil {
		return err
	}
	defer closeApplier()
	opts.Applier = applier
	r, err := store.Approve(cmd.Context(), opts)
	if err != nil {
		return requestErr(err)
	}
	if r.Kind == bottleapi.KindEgress {
		fmt.Fprintf(a.io.err, "request %s approved: bottle %s may reach %s now\n", r.ID, r.Slug, strings.Join(r.Hosts, ", "))
		return nil
	}
	fmt.Fprintf(a.io.err, "request %s approved: capability %q is in bottle %s's image %s\n", r.ID, r.Name, r.Slug, r.ImageID)
	return nil
}

// editInstructions opens $EDITOR (else vi) on the request's instructions
// and reads them back, checked.
func (a *app) editInstructions(r *request.Request) (run, pkgs []string, err error) {
	f, err := os.CreateTemp("", "claude-bottle-"+r.ID+"-*.txt")
	if err != nil {
		return nil, nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(request.EditTemplate(r)); err != nil {
		f.Close()
		return nil, nil, err
	}
	f.Close()
	editor := os.Getenv("EDITOR")
	if editor == "" {
		editor = "vi"
	}
	c := exec.Command("sh", "-c", editor+` "$1"`, "sh", f.Name())
	c.Stdin, c.Stdout, c.Stderr = a.io.in, a.io.out, a.io.err
	if err := c.Run(); err != nil {
		return nil, nil, fmt.Errorf("the editor %q failed (%v); nothing changed", editor, err)
	}
	text, err := os.ReadFile(f.Name())
	if err != nil {
		return nil, nil, err
	}
	run, pkgs, err = request.ParseEdit(text)
	if errors.Is(err, bottleapi.ErrInvalid) {
		return nil, nil, usageErr(err)
	}
	return run, pkgs, err
}

// operatorName is who decides: the user running claude-bottle.
func operatorName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

func (a *app) newRequestDenyCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "deny ID --reason TEXT",
		Short: "Deny a request; the bottle's agent is told the reason",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return usageErr(errors.New("deny needs --reason TEXT: the agent is told why"))
			}
			store, err := a.requests()
			if err != nil {
				return err
			}
			r, err := store.Deny(cmd.Context(), args[0], reason, operatorName())
			if err != nil {
				return requestErr(err)
			}
			fmt.Fprintf(a.io.err, "request %s of bottle %s denied\n", r.ID, r.Slug)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, in one line (told to the agent)")
	return cmd
}

// capabilityOptions are the flags of the in-bottle `request capability`.
type capabilityOptions struct {
	run      []string
	packages []string
	reason   string
	wait     string
	format   string
}

const requestCapabilityLong = `Run inside a bottle: asks the operator to add a capability to the bottle's
image and waits for the decision (default 30m, or $CLAUDE_BOTTLE_REQUEST_WAIT,
or --wait). Talks to the bottle socket ($CLAUDE_BOTTLE_SOCKET, default
/run/claude-bottle/bottle.sock). Prints the outcome and what happens next.

Exit codes:
  0  approved (and built; on approval the bottle restarts on the new image)
  1  error (socket unreachable, or approved but the build failed)
  2  bad input (nothing was asked)
  3  denied (the operator's reason is printed)
  4  timed out (no decision within the wait)`

func (a *app) newRequestCapabilityCmd() *cobra.Command {
	var o capabilityOptions
	cmd := &cobra.Command{
		Use:   "capability NAME (--run CMD | --package PKG...) --reason TEXT [--wait DURATION]",
		Short: "In a bottle: ask the operator for a capability and wait for the decision",
		Long:  requestCapabilityLong,
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runRequestCapability(cmd, args[0], o)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&o.run, "run", nil, "shell command run as root at build time (repeatable, one RUN line each)")
	fl.StringSliceVar(&o.packages, "package", nil, "package for the image's package manager (repeatable or comma-separated)")
	fl.StringVar(&o.reason, "reason", "", "why, in one line (shown to the operator)")
	fl.StringVar(&o.wait, "wait", "", "how long to wait for the decision, like 10m (default $"+inbottle.WaitEnv+" or 30m)")
	fl.StringVar(&o.format, "format", "text", "output format: text or json")
	return cmd
}

func (a *app) runRequestCapability(cmd *cobra.Command, name string, o capabilityOptions) error {
	if err := checkFormat(o.format); err != nil {
		return err
	}
	wait, err := inbottle.DefaultWait()
	if o.wait != "" {
		wait, err = inbottle.ParseWait(o.wait)
	}
	if err != nil {
		return usageErr(err)
	}
	c := inbottle.NewClient("")
	defer c.Close()
	out, err := inbottle.RequestCapability(cmd.Context(), c, inbottle.CapabilityInput{
		Name: name, Run: o.run, Packages: o.packages, Reason: o.reason, Wait: wait,
	})
	if errors.Is(err, bottleapi.ErrInvalid) {
		return usageErr(err)
	}
	if err != nil && out.Request.ID == "" {
		return err
	}
	return a.writeOutcome(out, err, o.format)
}

// writeOutcome prints an in-bottle request's outcome and turns it into the
// exit code documented in requestCapabilityLong.
func (a *app) writeOutcome(out inbottle.Outcome, err error, format string) error {
	if format == "json" {
		writeJSONOut(a.io.out, out)
	} else {
		fmt.Fprintln(a.io.out, out.Text())
	}
	if err != nil {
		return err
	}
	if code := out.ExitCode(); code != 0 {
		return &exitCodeError{code: code, err: fmt.Errorf("request %s: %s", out.Request.ID, out.Result)}
	}
	return nil
}

func (a *app) newRequestWaitCmd() *cobra.Command {
	var wait, format string
	cmd := &cobra.Command{
		Use:   "wait ID [--wait DURATION]",
		Short: "In a bottle: wait for the decision on one of this bottle's requests",
		Long: "Run inside a bottle: waits up to --wait (default 30m) for the decision on a request\n" +
			"this bottle made, prints it, and exits as `request capability` does (0 approved,\n" +
			"1 error or failed build, 2 bad input or no such request in this bottle, 3 denied,\n" +
			"4 still undecided or expired).",
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			w, err := inbottle.DefaultWait()
			if wait != "" {
				w, err = inbottle.ParseWait(wait)
			}
			if err != nil {
				return usageErr(err)
			}
			c := inbottle.NewClient("")
			defer c.Close()
			out, err := inbottle.Wait(cmd.Context(), c, args[0], w)
			var apiErr *inbottle.APIError
			if errors.Is(err, bottleapi.ErrInvalid) || errors.As(err, &apiErr) && apiErr.Code == http.StatusNotFound {
				return usageErr(err)
			}
			if err != nil && out.Request.ID == "" {
				return err
			}
			return a.writeOutcome(out, err, format)
		},
	}
	cmd.Flags().StringVar(&wait, "wait", "", "how long to wait, like 10m (default $"+inbottle.WaitEnv+" or 30m)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
