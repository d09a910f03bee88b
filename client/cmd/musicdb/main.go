// Command musicdb is the musicdb console: see package musicdb/client.
package main

import (
	"context"
	"os"

	"musicdb/client"
)

func main() {
	err := client.Run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	os.Exit(client.ExitStatus(err))
}
