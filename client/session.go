package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"musicdb/client/api"
	"musicdb/client/console"
	"musicdb/client/login"
)

// prompt is shown before each command on a terminal.
const prompt = "musicdb> "

// maxLine is the longest command line read; no command comes near it.
const maxLine = 64 << 10

// session runs console commands one after the other and reports each: on
// stdout its result, on stderr its failure (with -json, both on stdout, one
// JSON line per command). Prompts and questions go to stderr.
type session struct {
	api    *api.Client
	stats  func() api.Stats
	logins *login.Session // LOGIN and LOGOUT; the token of api's requests
	cfg    config

	json        bool
	interactive bool // a person at a terminal: prompt, and confirm REMOVE ALL
	stdout      io.Writer
	stderr      io.Writer
	now         func() time.Time

	lines  *lineReader // where commands and answers come from; nil with -c
	failed bool        // a command failed
}

// result is what Run returns once the session is over.
func (s *session) result() error {
	if s.failed {
		return ErrCommandFailed
	}
	return nil
}

// runLines runs the commands read from r, one a line, until its end, QUIT,
// or the end of ctx.
func (s *session) runLines(ctx context.Context, r io.Reader) error {
	s.lines = newLineReader(r)
	defer s.lines.close()
	if s.interactive {
		fmt.Fprintf(s.stderr, "musicdb console, connected to %s. Type HELP for the commands, QUIT to leave.\n", s.cfg.server)
	}
	for {
		if s.interactive {
			fmt.Fprint(s.stderr, prompt)
		}
		line, err := s.lines.next(ctx)
		if errors.Is(err, errLineTooLong) {
			s.report(console.Command{}, fmt.Errorf("%w: a line is over %d bytes; it was skipped", errUnreadable, maxLine))
			continue
		}
		if err != nil {
			if s.interactive {
				fmt.Fprintln(s.stderr) // end the prompt's line
			}
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				s.report(console.Command{}, fmt.Errorf("%w: %v", errUnreadable, err))
			}
			return s.result()
		}
		if s.runLine(ctx, line) {
			return s.result()
		}
	}
}

// runLine runs the command on one line and reports whether it was QUIT.
func (s *session) runLine(ctx context.Context, line string) (quit bool) {
	cmd, err := console.Parse(line, s.now())
	switch {
	case errors.Is(err, console.ErrEmpty):
		return false
	case err != nil:
		s.report(cmd, err)
		return false
	case cmd.Op == console.Quit:
		s.succeed(cmd, outcome{})
		return true
	case needsConfirmation(cmd, s.interactive) && !s.confirm(ctx, cmd):
		s.succeed(cmd, outcome{result: "nothing deleted", text: "nothing deleted\n"})
		return false
	}
	out, err := s.execute(ctx, cmd)
	if err != nil {
		s.report(cmd, err)
		return false
	}
	s.succeed(cmd, out)
	return false
}

// needsConfirmation reports whether cmd must be confirmed before it runs:
// a REMOVE ALL typed by a person at a terminal. Scripts and -c are taken at
// their word.
func needsConfirmation(cmd console.Command, interactive bool) bool {
	return interactive && cmd.Destructive()
}

// confirm asks whether to run cmd and reports whether the answer was yes.
func (s *session) confirm(ctx context.Context, cmd console.Command) bool {
	fmt.Fprintf(s.stderr, "%s? [y/N] ", question(cmd))
	answer, err := s.lines.next(ctx)
	if err != nil {
		fmt.Fprintln(s.stderr)
		return false
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true
	}
	return false
}

// question is what confirm asks before a REMOVE ALL.
func question(cmd console.Command) string {
	switch cmd.Op {
	case console.RemoveUsers:
		return "delete every user and their ratings"
	case console.RemoveBands:
		return "delete every band, album and rating"
	case console.RemoveAlbums:
		return "delete every album and rating"
	case console.RemoveBandAlbums:
		return fmt.Sprintf("delete every album of band %d", cmd.BandID)
	case console.RemoveUserAlbums:
		return fmt.Sprintf("delete every rating of user %d", cmd.UserID)
	case console.RemoveAlbumsRated:
		return fmt.Sprintf("delete every album that someone rated %d", cmd.Rate)
	}
	return "run " + cmd.Line
}

// succeed reports the outcome of cmd.
func (s *session) succeed(cmd console.Command, out outcome) {
	if s.json {
		s.writeJSON(struct {
			Command string `json:"command"`
			Status  int    `json:"status"`
			Result  any    `json:"result"`
		}{cmd.Line, out.status, out.result})
		return
	}
	io.WriteString(s.stdout, out.text)
}

// report reports that cmd failed with err.
func (s *session) report(cmd console.Command, err error) {
	s.failed = true
	f := s.failure(cmd, err)
	if s.json {
		s.writeJSON(struct {
			Command string      `json:"command"`
			Status  int         `json:"status"`
			Error   api.Problem `json:"error"`
		}{cmd.Line, f.status, f.problem})
		return
	}
	fmt.Fprintln(s.stderr, f.message)
}

func (s *session) writeJSON(v any) {
	enc := json.NewEncoder(s.stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a result of ours that JSON cannot hold gets here: a bug.
		fmt.Fprintf(s.stderr, "cannot encode the result as JSON: %v\n", err)
	}
}

// errLineTooLong is returned by lineReader.next for a line over maxLine.
var errLineTooLong = errors.New("line too long")

// errUnreadable marks input that could not be read as a command.
var errUnreadable = errors.New("cannot read the command")

// lineReader reads lines from its reader in a goroutine of its own, so that
// waiting for a line can be abandoned when a context ends (Ctrl-C at the
// prompt). It reads a line only when asked for one, never ahead.
type lineReader struct {
	ask  chan struct{}
	got  chan lineRead
	done chan struct{}
}

type lineRead struct {
	line string
	err  error
}

func newLineReader(r io.Reader) *lineReader {
	lr := &lineReader{ask: make(chan struct{}), got: make(chan lineRead), done: make(chan struct{})}
	br := bufio.NewReaderSize(r, maxLine)
	go func() {
		for {
			select {
			case <-lr.ask:
			case <-lr.done:
				return
			}
			line, err := readLine(br)
			select {
			case lr.got <- lineRead{line, err}:
			case <-lr.done:
				return
			}
		}
	}()
	return lr
}

// next returns the next line, without its line ending.
func (lr *lineReader) next(ctx context.Context) (string, error) {
	select {
	case lr.ask <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	select {
	case r := <-lr.got:
		return r.line, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// close stops the goroutine, once it is done with a read it is blocked in.
func (lr *lineReader) close() { close(lr.done) }

// readLine reads one line. A line over the reader's buffer is read to its
// end and dropped, with errLineTooLong. The last line needs no line ending.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return "", errLineTooLong
	}
	if errors.Is(err, io.EOF) && len(line) > 0 {
		err = nil
	}
	return strings.TrimRight(string(line), "\r\n"), err
}
