// Command musicdb-server serves the musicdb REST API over HTTPS with mutual
// TLS. Run it with -h for its flags; ./run.sh server starts it with the
// development certificates.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"musicdb/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal starts a graceful shutdown; a second one, during
		// its grace period, kills the process as usual.
		<-ctx.Done()
		stop()
	}()
	err := server.Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "musicdb-server: %v\n", err)
		os.Exit(1)
	}
}
