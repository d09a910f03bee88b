package journal

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Some tests run the test binary again as a second process, which opens a
// store folder as the test tells it to through these variables.
const (
	childEnv = "JOURNAL_TEST_CHILD" // what the child does: "lock" or "crash"
	dirEnv   = "JOURNAL_TEST_DIR"   // the store folder
)

func TestMain(m *testing.M) {
	switch mode := os.Getenv(childEnv); mode {
	case "":
		os.Exit(m.Run())
	case "lock":
		os.Exit(lockChild(os.Getenv(dirEnv)))
	case "crash":
		os.Exit(crashChild(os.Getenv(dirEnv)))
	default:
		fmt.Fprintf(os.Stderr, "%s=%q: unknown mode\n", childEnv, mode)
		os.Exit(2)
	}
}

// childCommand returns the command that runs the test binary as a child in
// mode on the store in dir.
func childCommand(mode, dir string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, dirEnv+"="+dir)
	// The race detector sleeps for a second before a process exits.
	cmd.Env = append(cmd.Env, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// runChild runs a child in mode on dir and returns its output.
func runChild(tb testing.TB, mode, dir string) (string, error) {
	tb.Helper()
	out, err := childCommand(mode, dir).CombinedOutput()
	return string(out), err
}

// lockChild opens the store in dir and closes it again. It fails, printing
// why, if the store is locked.
func lockChild(dir string) int {
	j, _, err := Open(dir, Options{NewState: newKV})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	if err := j.Close(); err != nil {
		fmt.Println(err)
		return 1
	}
	return 0
}
