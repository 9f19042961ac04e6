package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/dashboard"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/launch"
)

// dashboardOptions are the flags of `claude-bottle dashboard`.
type dashboardOptions struct {
	driverFlags
	listen          string
	open            bool
	tlsCert, tlsKey string
	allowHosts      []string
}

func newDashboardCmd(a *app) *cobra.Command {
	var o dashboardOptions
	cmd := &cobra.Command{
		Use:   "dashboard [--listen ADDR] [--open]",
		Short: "Serve the web dashboard: every bottle live, their requests, builds and actions",
		Long: "Serves the dashboard until Ctrl-C. Each start prints the address to open, with a fresh\n" +
			"token (also kept in dashboard.url in the state root, readable by you only). It listens\n" +
			"on loopback (" + dashboard.DefaultAddr + ") unless --listen says otherwise; an address other\n" +
			"machines can reach needs --tls-cert and --tls-key (or [dashboard] tls_cert and tls_key\n" +
			"in config.toml), and the names it is reached by (--allow-host) beside the machine's own.",
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runDashboard(cmd, &o)
		},
	}
	o.driverFlags.bind(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.listen, "listen", "", "address to listen on, HOST:PORT (default "+dashboard.DefaultAddr+", or [dashboard] listen in config.toml)")
	fl.BoolVar(&o.open, "open", false, "open the dashboard in the browser (xdg-open, or $BROWSER)")
	fl.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate (PEM); needed with a non-loopback --listen")
	fl.StringVar(&o.tlsKey, "tls-key", "", "TLS private key (PEM)")
	fl.StringArrayVar(&o.allowHosts, "allow-host", nil, "another name the dashboard is reached by, for a non-loopback --listen (repeatable)")
	return cmd
}

func (a *app) runDashboard(cmd *cobra.Command, o *dashboardOptions) error {
	s, err := a.settings(&o.driverFlags)
	if err != nil {
		return err
	}
	l, err := dashboard.Listen(dashboard.ListenOptions{
		Addr: firstNonEmpty(o.listen, s.Dashboard.Listen), TLSCert: firstNonEmpty(o.tlsCert, s.Dashboard.TLSCert),
		TLSKey: firstNonEmpty(o.tlsKey, s.Dashboard.TLSKey), AllowHosts: append(o.allowHosts, s.Dashboard.AllowHosts...),
	})
	if errors.Is(err, dashboard.ErrNeedTLS) || errors.Is(err, dashboard.ErrBadListen) {
		return usageErr(err)
	}
	if err != nil {
		return err
	}
	defer l.Close()
	srv, closeAll, err := a.newDashboard(cmd.Context(), s)
	if err != nil {
		return err
	}
	defer closeAll()
	root, err := a.home()
	if err != nil {
		return err
	}
	url := srv.TokenURL(l)
	remove, err := dashboard.WriteURLFile(root, url)
	if err != nil {
		return err
	}
	defer remove()
	fmt.Fprintf(a.io.out, "dashboard: %s\n", url)
	fmt.Fprintf(a.io.err, "open that address (it is also in %s, readable by you only); Ctrl-C stops the dashboard\n", root+"/"+dashboard.URLFile)
	if o.open {
		a.openBrowser(url)
	}
	return srv.Serve(cmd.Context(), l)
}

// newDashboard opens what the dashboard reads and acts with: the state,
// the engine, and the driver (chosen now, opened at the first build).
func (a *app) newDashboard(ctx context.Context, s config.Settings) (*dashboard.Server, func(), error) {
	store, err := a.store()
	if err != nil {
		return nil, nil, err
	}
	cli, err := launch.Connect(s.DriverConfig.DockerHost)
	if err != nil {
		return nil, nil, err
	}
	src, err := a.drivers(s)
	if err != nil {
		cli.Close()
		return nil, nil, err
	}
	name, why, chooseErr := a.chooseDriver(ctx, src, s)
	if chooseErr != nil {
		fmt.Fprintf(a.io.err, "no build driver for now (builds from the dashboard will fail): %s\n", errorLine(chooseErr))
	}
	srv, err := dashboard.New(dashboard.Options{
		Store: store, Engine: cli, Repo: s.Repo, RepoFrom: s.RepoFrom, Driver: name, DriverReason: why,
		OpenBuilder: func(ctx context.Context) (driver.Builder, error) {
			if chooseErr != nil {
				return nil, chooseErr
			}
			return openDriver(ctx, src, name, s)
		},
		User: operatorName(), Log: a.log,
	})
	if err != nil {
		src.Close()
		cli.Close()
		return nil, nil, err
	}
	return srv, func() { srv.Close(); src.Close(); cli.Close() }, nil
}

// openBrowser opens url with $BROWSER, else xdg-open; failing to is said,
// not fatal (the address is printed).
func (a *app) openBrowser(url string) {
	browser := firstNonEmpty(os.Getenv("BROWSER"), "xdg-open")
	c := exec.Command(browser, url)
	if err := c.Start(); err != nil {
		fmt.Fprintf(a.io.err, "could not open a browser (%s: %v); open the address above yourself\n", browser, err)
		return
	}
	go c.Wait()
}
