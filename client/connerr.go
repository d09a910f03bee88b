package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"musicdb/client/api"
	"musicdb/client/login"
)

// describe says in one line, for a person, why a request to the server
// failed: the server's own message for an error answer, else what went wrong
// with the connection, naming the files or command that can fix it.
func describe(err error, cfg config) string {
	var (
		status    *api.StatusError
		unknownCA x509.UnknownAuthorityError
		wrongHost x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		dnsErr    *net.DNSError
		noLogin   *login.Error
	)
	switch {
	case errors.As(err, &status):
		return fmt.Sprintf("%s answered %d %s: %s", cfg.server, status.Status, status.Problem.Title, status.Err.Message)
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &noLogin):
		return err2line(noLogin) // the request was never sent
	case errors.As(err, &unknownCA):
		return fmt.Sprintf("server certificate not signed by %s", cfg.ca)
	case errors.As(err, &wrongHost):
		return fmt.Sprintf("server certificate is not for %s (%v)", wrongHost.Host, err2line(wrongHost))
	case errors.As(err, &invalid):
		return fmt.Sprintf("server certificate is not valid: %v", err2line(invalid))
	case errors.As(err, &verify):
		return fmt.Sprintf("server certificate rejected: %v", err2line(verify.Err))
	}
	if alert, ok := remoteAlert(err); ok {
		if strings.Contains(alert, "certificate") {
			return fmt.Sprintf("server rejected client certificate %s (%s)", cfg.cert, alert)
		}
		return fmt.Sprintf("server refused the TLS connection (%s)", alert)
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("cannot reach %s: connection refused (is ./run.sh server running?)", cfg.server)
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("cannot reach %s: no such host", cfg.server)
	case isTimeout(err):
		return fmt.Sprintf("no answer from %s: timed out", cfg.server)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return fmt.Sprintf("%s closed the connection before answering", cfg.server)
	case !errors.As(err, new(*url.Error)):
		return err2line(err) // not the connection's fault: a bad answer, say
	}
	return fmt.Sprintf("cannot reach %s: %s", cfg.server, err2line(innermost(err)))
}

// unclear reports whether err, from a request, may hide the reason: a
// connection that broke without saying why.
func unclear(err error) bool {
	var (
		status *api.StatusError
		verify *tls.CertificateVerificationError
		dnsErr *net.DNSError
	)
	if _, ok := remoteAlert(err); ok {
		return false
	}
	return errors.As(err, new(*url.Error)) && !errors.As(err, &status) && !errors.As(err, &verify) &&
		!errors.As(err, &dnsErr) && !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, context.Canceled)
}

// rejection connects to server once more with tlsConfig, sending nothing,
// and returns the TLS alert with which the server rejects the client
// certificate, or nil. A TLS 1.3 client learns of the rejection only after
// its side of the handshake, when it reads; a request written meanwhile
// makes the server's side reset the connection, which can lose the alert.
func rejection(ctx context.Context, tlsConfig *tls.Config, server string) error {
	u, err := url.Parse(server)
	if err != nil {
		return nil
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	cfg := tlsConfig.Clone()
	cfg.ServerName = u.Hostname()
	cfg.NextProtos = []string{"http/1.1"} // so that the server too waits for us
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err = conn.Read(make([]byte, 1))
	if _, ok := remoteAlert(err); ok {
		return err
	}
	return nil
}

// remoteAlert returns the TLS alert that the server sent, such as "tls: bad
// certificate", if err is one.
func remoteAlert(err error) (string, bool) {
	var op *net.OpError
	for e := err; errors.As(e, &op); e = op.Err {
		if op.Op == "remote error" {
			return op.Err.Error(), true
		}
	}
	return "", false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// innermost returns the error at the end of err's chain of Unwrap: the
// cause without the layers that repeat the method and URL.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// err2line returns err's message on one line.
func err2line(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
