package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"musicdb/certs"
	"musicdb/store"
)

// shutdownGrace is how long in-flight requests get to finish once Run's
// context ends.
const shutdownGrace = 10 * time.Second

// options are the settings of the server program, from flags and the
// environment.
type options struct {
	addr      string
	data      string
	cert      string
	key       string
	clientCA  string
	http1     bool
	logFormat string
	auth      string // the token provider: local, google, spotify or oidc
	issuer    string // the OpenID Connect issuer, for -auth oidc
	allow     string // who may use the API; empty: anyone the provider vouches for
}

// Run is the musicdb server program. It reads its settings from args, the
// command-line arguments without the program name, and from getenv for
// MUSICDB_<FLAG> variables and the token provider's settings; opens the
// store and, for -auth local, the built-in issuer's grant table in the
// folder issuer of the data folder; and serves the API over HTTPS with
// mutual TLS until ctx ends. Then it stops accepting connections, gives
// in-flight requests up to 10 seconds to finish, and closes the store and
// the grant table.
//
// It prints one line to stdout once it listens, naming the address it bound,
// and logs to stderr. It returns nil after a clean shutdown, flag.ErrHelp
// after printing usage for -h, and otherwise an error of one line that says
// what to do. stdin is not read.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	opts, err := parseOptions(args, getenv, stdout)
	if err != nil {
		return err
	}
	log, err := newLogger(opts.logFormat, stderr)
	if err != nil {
		return err
	}
	tokens, err := newTokenCheck(opts, getenv)
	if err != nil {
		return err
	}
	m := NewMetrics()
	tlsConfig, err := certs.ServerConfig(opts.clientCA, opts.cert, opts.key, certs.WithLogger(log))
	if err != nil {
		return err
	}
	prepareTLS(tlsConfig, m, opts.http1)

	st, err := store.Open(opts.data, store.Options{Logger: log, OnSync: m.OnSync})
	if err != nil {
		return err
	}
	checker, iss, err := tokens.open(opts.data, log)
	if err != nil {
		st.Close()
		return err
	}
	closeAll := func() error {
		err := st.Close()
		if iss != nil {
			err = errors.Join(err, iss.Close())
		}
		return err
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		closeAll()
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("address %s is in use — is another musicdb-server running?", opts.addr)
		}
		return err
	}

	so := defaultServerOptions()
	so.http1Only = opts.http1
	h := NewServer(Config{Store: st, Logger: log, Metrics: m, Auth: checker, Issuer: iss})
	srv := newHTTPServer(h, tlsConfig, m, log, so)
	protocols := "HTTP/2, HTTP/1.1"
	if opts.http1 {
		protocols = "HTTP/1.1 only"
	}
	fmt.Fprintf(stdout, "musicdb-server: listening on https://%s (%s; mTLS; data %s; auth %s)\n", ln.Addr(), protocols, opts.data, opts.auth)

	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	select {
	case err = <-served:
		closeAll()
		return err
	case <-ctx.Done():
	}

	log.Info("shutting down", "grace", shutdownGrace)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err = srv.Shutdown(stopCtx); err != nil {
		srv.Close()
		err = fmt.Errorf("requests still running %v after shutdown began were cut off", shutdownGrace)
	}
	<-served
	return errors.Join(err, closeAll())
}

// parseOptions reads the flags in args over defaults taken from the
// environment. For -h it prints usage to stdout and returns flag.ErrHelp.
func parseOptions(args []string, getenv func(string) string, stdout io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("musicdb-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.addr, "addr", "localhost:8443", "listen on `host:port`")
	fs.StringVar(&o.data, "data", "var/data", "keep the store in `folder`")
	fs.StringVar(&o.cert, "cert", "var/certs/server.crt", "server certificate `file` (PEM)")
	fs.StringVar(&o.key, "key", "var/certs/server.key", "server private key `file` (PEM)")
	fs.StringVar(&o.clientCA, "client-ca", "var/certs/ca.crt", "`file` of the CA (PEM) that issues client certificates")
	fs.BoolVar(&o.http1, "http1", false, "serve HTTP/1.1 only, not HTTP/2")
	fs.StringVar(&o.logFormat, "log-format", "text", "log as `text` or json")
	fs.StringVar(&o.auth, "auth", authLocal, "check bearer tokens with `provider`: local (the built-in issuer), google, spotify or oidc")
	fs.StringVar(&o.issuer, "issuer", "", "the OpenID Connect issuer `URL` for -auth oidc; MUSICDB_OIDC_ISSUER also sets it")
	fs.StringVar(&o.allow, "allow", "", "let in only these comma-separated `identities` and @domains; empty lets in anyone the provider vouches for")

	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && err == nil {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %v", envName(f.Name), v, serr)
			}
		}
	})
	if err != nil {
		return o, err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(fs, stdout)
			return o, err
		}
		return o, fmt.Errorf("%v (see -h)", err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	if o.issuer == "" {
		// The client reads the issuer from there too.
		o.issuer = getenv("MUSICDB_OIDC_ISSUER")
	}
	return o, nil
}

// envName returns the environment variable that sets a flag:
// MUSICDB_CLIENT_CA for -client-ca.
func envName(flagName string) string {
	return "MUSICDB_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, `Usage: musicdb-server [flags]

musicdb-server serves the musicdb REST API over HTTPS with mutual TLS.
Each flag can also be set with the environment variable shown; a flag on the
command line wins over the environment.

`)
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + name
		}
		fmt.Fprintf(w, "  -%s%s\n    \t%s (env %s", f.Name, name, help, envName(f.Name))
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(w, ", default %q", f.DefValue)
		}
		fmt.Fprintln(w, ")")
	})
}

func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", format)
}
