package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDir takes the store lock of dir: an exclusive flock on dir/lock, which
// the kernel drops when the holder dies, so a crash never leaves the store
// locked. The holder's pid is written into the file for the error message of
// whoever comes next.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store/journal: %w", err)
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, inUse(dir, path)
		}
		return nil, fmt.Errorf("store/journal: lock %s: %w", path, err)
	}
	pid := strconv.Itoa(os.Getpid()) + "\n"
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(pid), 0)
	}
	if err != nil {
		unlockDir(f)
		return nil, fmt.Errorf("store/journal: %w", err)
	}
	return f, nil
}

// inUse returns the error for a store whose lock is held, naming the holder.
func inUse(dir, path string) error {
	who := "pid unknown"
	if b, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			if pid == os.Getpid() {
				return fmt.Errorf("store/journal: store %s is already open in this process (pid %d)", dir, pid)
			}
			who = "pid " + strconv.Itoa(pid)
		}
	}
	return fmt.Errorf("store/journal: store %s is in use by another process (%s)", dir, who)
}

// unlockDir releases a lock taken by lockDir. The file stays, with the pid of
// its last holder in it: removing it would let two processes lock two
// different files of the same name.
func unlockDir(f *os.File) error {
	err := flock(f, syscall.LOCK_UN)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func flock(f *os.File, how int) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = conn.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if ferr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return ferr
}
