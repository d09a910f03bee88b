// Command musicdb-certs makes and extends the musicdb dev PKI: a CA, the
// server certificate and client certificates, in var/certs by default.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"musicdb/certs"
)

const usage = `usage:
  musicdb-certs [-dir DIR]                           make whatever is missing of the CA, server and dev client certificates
  musicdb-certs [-dir DIR] client NAME               also add the client certificate NAME.crt/NAME.key
  musicdb-certs [-dir DIR] server --host NAME ...    also reissue server.crt for localhost, 127.0.0.1, ::1
                                                     and exactly the given names, keeping server.key

Flags may also follow the command. DIR defaults to $MUSICDB_CERTS_DIR, else var/certs.
Existing keys and certificates are never overwritten, except server.crt by the server command.
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "musicdb-certs: %v\n", err)
		os.Exit(1)
	}
}

// run takes a context like every musicdb main, although making certificates
// is quick and never waits on anything.
func run(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	dir := getenv("MUSICDB_CERTS_DIR")
	if dir == "" {
		dir = certs.DefaultDir
	}
	var hosts []string
	flags := flag.NewFlagSet("musicdb-certs", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	flags.StringVar(&dir, "dir", dir, "folder of the dev PKI")
	flags.Func("host", "extra server name (server command; repeatable)", func(h string) error {
		hosts = append(hosts, h)
		return nil
	})
	words, err := parse(flags, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%v (see musicdb-certs -h)", err)
	}

	command := ""
	if len(words) > 0 {
		command, words = words[0], words[1:]
	}
	switch {
	case command != "" && command != "client" && command != "server":
		return fmt.Errorf("unknown command %q (see musicdb-certs -h)", command)
	case command == "client" && len(words) != 1:
		return errors.New("the client command takes one NAME (see musicdb-certs -h)")
	case command != "client" && len(words) > 0:
		return fmt.Errorf("unexpected %q (see musicdb-certs -h)", words[0])
	case command != "server" && len(hosts) > 0:
		return errors.New("--host goes with the server command (see musicdb-certs -h)")
	}
	if command == "client" {
		if err := certs.CheckClientName(words[0]); err != nil {
			return err
		}
	}

	created, err := certs.Init(dir, hosts...)
	for _, path := range created {
		fmt.Fprintf(stdout, "created %s\n", path)
	}
	if err != nil {
		return err
	}
	if err := certs.CheckDir(dir); err != nil {
		fmt.Fprintf(stderr, "musicdb-certs: warning: %v\n", err)
	}

	switch command {
	case "client":
		return addClient(stdout, dir, words[0])
	case "server":
		if slices.Contains(created, certs.ServerPair(dir).Cert) {
			return nil
		}
		return reissueServer(stdout, dir, hosts)
	}
	for _, p := range []certs.Pair{certs.CAPair(dir), certs.ServerPair(dir), certs.ClientPair(dir, certs.DevClient)} {
		for _, path := range []string{p.Cert, p.Key} {
			if !slices.Contains(created, path) {
				fmt.Fprintf(stdout, "%s exists; left as it is\n", path)
			}
		}
	}
	return nil
}

// parse parses flags wherever they stand among args and returns the other
// words in order.
func parse(flags *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for {
		if err := flags.Parse(args); err != nil {
			return nil, err
		}
		args = flags.Args()
		if len(args) == 0 {
			return words, nil
		}
		words, args = append(words, args[0]), args[1:]
	}
}

func addClient(stdout io.Writer, dir, name string) error {
	p := certs.ClientPair(dir, name)
	_, err := os.Lstat(p.Key)
	hadKey := !errors.Is(err, fs.ErrNotExist)
	created, err := certs.AddClient(dir, name)
	if err != nil {
		return err
	}
	for _, path := range []string{p.Cert, p.Key} {
		if created && (path == p.Cert || !hadKey) {
			fmt.Fprintf(stdout, "created %s\n", path)
		} else {
			fmt.Fprintf(stdout, "%s exists; left as it is\n", path)
		}
	}
	return nil
}

func reissueServer(stdout io.Writer, dir string, hosts []string) error {
	names, err := certs.ServerHosts(hosts...)
	if err != nil {
		return err
	}
	if err := certs.ReissueServer(dir, hosts); err != nil {
		return err
	}
	p := certs.ServerPair(dir)
	fmt.Fprintf(stdout, "reissued %s for %s; kept %s\n", p.Cert, strings.Join(names, ", "), p.Key)
	return nil
}
