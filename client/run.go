// Package client is the musicdb console: it reads commands from a terminal,
// from a pipe or from -c, sends each as its REST call, and prints the answers
// as aligned tables or, with -json, as one JSON line per command.
//
// Run is the whole program; its main only turns the result into an exit
// status. Every request of a run goes through one api.Transport, so over one
// connection. The console must never print a password: commands are echoed
// with the password masked, and request bodies are never shown.
package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"musicdb/certs"
	"musicdb/client/api"
	"musicdb/client/console"
	"musicdb/client/login"
)

// requestTimeout bounds one request, its answer included.
const requestTimeout = 30 * time.Second

// ErrCommandFailed is returned by Run when a command failed (including a
// line that is not a command); each failure was reported when it happened.
var ErrCommandFailed = errors.New("a command failed")

// ExitStatus returns the exit status for the result of Run: 0 for nil, 1 for
// ErrCommandFailed, and 2 for any other error, which means that the console
// could not work at all (bad flags, certificate files missing, the server
// unreachable, TLS failing).
func ExitStatus(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrCommandFailed):
		return 1
	}
	return 2
}

// config is what the flags and the argument set.
type config struct {
	server, ca, cert, key string
	json                  bool
	command               *string // -c, nil when not given
	login                 string  // the provider, one of console.Providers
	noKeepAlive           bool
	verbose               bool
	token                 bool // the argument token: print an access token and leave
}

// Run runs the console with the command-line arguments args (without the
// program's name). It reads commands from stdin, writes their results to
// stdout and what goes wrong to stderr, and returns nil when every command
// succeeded; see ExitStatus for the rest. It reports every error itself, on
// stderr, before returning it. getenv gives the environment: the settings
// of login providers, and XDG_CONFIG_HOME and HOME, which locate the token
// cache (see package login).
//
// Before reading any command Run calls the server once, so that a server
// that cannot be reached, or a TLS failure, is reported before a prompt,
// and then makes sure it has a token, logging in if it must. With the
// argument token it prints the access token instead, and nothing else.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err // the flag package has said what is wrong
	}
	tr, err := connect(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return err
	}
	defer tr.CloseIdleConnections()
	logins, err := login.New(ctx, cfg.login, login.Options{Server: cfg.server, Getenv: getenv, Local: httpClient(tr), Prompt: stderr})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return err
	}
	if cfg.token {
		tok, err := logins.AccessToken(ctx)
		if err != nil {
			fmt.Fprintln(stderr, loginFailure(err))
			return err
		}
		fmt.Fprintln(stdout, tok)
		return nil
	}
	if err := logins.Ready(ctx); err != nil {
		fmt.Fprintln(stderr, loginFailure(err))
		return err
	}
	c, err := api.New(cfg.server, httpClient(logins.Transport(tr)))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return err
	}

	s := &session{
		api:    c,
		stats:  tr.Stats,
		logins: logins,
		cfg:    cfg,
		json:   cfg.json,
		stdout: stdout,
		stderr: stderr,
		now:    time.Now,
	}
	if cfg.command != nil {
		s.runLine(ctx, *cfg.command)
		err = s.result()
	} else {
		s.interactive = isTerminal(stdin)
		err = s.runLines(ctx, stdin)
	}
	if cfg.verbose {
		fmt.Fprintln(stderr, statsLine(tr.Stats()))
	}
	return err
}

// loginFailure says in one line why the console could not get a token.
func loginFailure(err error) string {
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	return "cannot log in: " + err2line(err)
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("musicdb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.server, "server", "https://localhost:8443", "the server's `URL`")
	fs.StringVar(&cfg.ca, "ca", "var/certs/ca.crt", "the CA certificate `file` that signed the server's certificate")
	fs.StringVar(&cfg.cert, "cert", "var/certs/dev.crt", "the client certificate `file`")
	fs.StringVar(&cfg.key, "key", "var/certs/dev.key", "the client certificate's key `file`")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON line per command")
	command := fs.String("c", "", "run the `command` and exit")
	fs.StringVar(&cfg.login, "login", login.Local, "log in at `provider`: "+strings.Join(console.Providers, ", ")+" (local is the server's own issuer)")
	fs.BoolVar(&cfg.noKeepAlive, "no-keepalive", false, "open a new connection for every request (for comparison only)")
	fs.BoolVar(&cfg.verbose, "v", false, "print the connection statistics to stderr at exit")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: musicdb [flags] [token]

The musicdb console. It reads commands from the terminal (type HELP), from
standard input when that is not a terminal (one command a line; blank lines
and # comments are skipped), or runs the one given with -c. With the
argument token it prints a valid access token for the server and nothing
else, logging in first if needed:

    curl -H "Authorization: Bearer $(musicdb token)" ...

It logs in with -login: at the server's own issuer (local, the default,
which needs nobody: the client certificate names you), or at google,
spotify or oidc, whose settings come from the environment:
MUSICDB_GOOGLE_CLIENT_ID and _SECRET (MUSICDB_GOOGLE_FLOW=device|loopback;
unset: the device flow when there is a secret, else the browser),
MUSICDB_SPOTIFY_CLIENT_ID, MUSICDB_OIDC_ISSUER, MUSICDB_OIDC_CLIENT_ID and
MUSICDB_OIDC_CLIENT_SECRET (empty for a public client). Tokens are cached,
per server and provider, in musicdb/tokens.json under $XDG_CONFIG_HOME
(else ~/.config).

Exit status: 0 when every command succeeded, 1 when one failed, 2 when the
console could not work (bad flags, certificates, server unreachable, no
login).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "c" {
			cfg.command = command
		}
	})
	rest := fs.Args()
	if len(rest) > 0 && rest[0] == "token" {
		cfg.token, rest = true, rest[1:]
	}
	var err error
	switch {
	case len(rest) > 0:
		err = fmt.Errorf("unexpected argument %q", rest[0])
	case !slices.Contains(console.Providers, cfg.login):
		err = fmt.Errorf("-login %q: want one of %s", cfg.login, strings.Join(console.Providers, ", "))
	case cfg.token && cfg.command != nil:
		err = errors.New("-c and token do not go together")
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return config{}, err
	}
	return cfg, nil
}

// connect builds the one transport of the process and checks, with one
// request, that the server answers over mutual TLS. Its errors are one line
// for a person.
func connect(ctx context.Context, cfg config) (*api.Transport, error) {
	tlsConfig, err := certs.ClientConfig(cfg.ca, cfg.cert, cfg.key)
	if err != nil {
		return nil, err
	}
	tr := api.NewTransport(tlsConfig, !cfg.noKeepAlive)
	c, err := api.New(cfg.server, httpClient(tr))
	if err != nil {
		return nil, err
	}
	if err := c.Health(ctx); err != nil {
		tr.CloseIdleConnections()
		if unclear(err) {
			if alert := rejection(ctx, tlsConfig, cfg.server); alert != nil {
				err = alert
			}
		}
		return nil, errors.New(describe(err, cfg))
	}
	return tr, nil
}

// httpClient returns an HTTP client of the process around rt, its one
// transport or that transport with the bearer token added. It follows no
// redirect: the API has none, and the client certificate is meant for this
// server only.
func httpClient(rt http.RoundTripper) *http.Client {
	return &http.Client{
		Transport: rt,
		Timeout:   requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// isTerminal reports whether r is a terminal, where a person types.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
