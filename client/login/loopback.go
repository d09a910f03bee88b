package login

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// callbackTimeout is how long the browser login waits for the browser's
// answer unless Options say otherwise.
const callbackTimeout = 5 * time.Minute

// browserLogin logs in by the authorization code grant with PKCE (RFC 7636)
// through the user's browser, which brings the answer back to a listener on
// a loopback address (RFC 8252): http://127.0.0.1:<port>/callback/<provider>.
// The path names the provider, so that an answer meant for another one is
// not taken for this one's (RFC 9700, mix-up). The listener serves one
// answer, checks its state and iss, and closes.
func (p *provider) browserLogin(ctx context.Context, o *Options) (*oauth2.Token, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen on 127.0.0.1 for the browser's answer: %w", err)
	}
	conf := p.conf
	conf.RedirectURL = "http://" + ln.Addr().String() + "/callback/" + p.name
	state := rand.Text()
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL(state, append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, p.extra...)...)

	answers := make(chan answer, 1)
	verdicts := make(chan error, 1) // how the login ended, for the page the browser shows
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback/"+p.name, func(w http.ResponseWriter, r *http.Request) {
		first := false
		once.Do(func() { first = true })
		if !first {
			page(w, http.StatusGone, errors.New("this login is over"))
			return
		}
		code, err := p.checkAnswer(r.URL.Query(), state)
		answers <- answer{code, err}
		if err == nil {
			select {
			case err = <-verdicts:
			case <-r.Context().Done():
				return
			}
		}
		status := http.StatusOK
		if err != nil {
			status = http.StatusBadRequest
		}
		page(w, status, err)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		// Let the page reach the browser, then stop.
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()

	timeout := o.CallbackTimeout
	if timeout <= 0 {
		timeout = callbackTimeout
	}
	fmt.Fprintf(o.Prompt, "To log in at %s, open this page in a browser:\n\n    %s\n\nWaiting for the browser (at most %s).\n", p.title, printable(authURL), timeout)
	open := o.OpenBrowser
	if open == nil {
		open = openBrowser
	}
	open(authURL)

	// end tells a browser whose answer is still open how the login ended.
	end := func(err error) error {
		select {
		case verdicts <- err:
		default:
		}
		return err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var a answer
	select {
	case a = <-answers:
	case <-ctx.Done():
		return nil, end(ctx.Err())
	case <-timer.C:
		return nil, end(fmt.Errorf("no answer from the browser within %s; run LOGIN again", timeout))
	}
	if a.err != nil {
		return nil, a.err
	}
	tok, err := conf.Exchange(p.context(ctx), a.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, end(p.failure("logging in", err))
	}
	return tok, end(nil)
}

// answer is what the browser brought back: a code, or why there is none.
type answer struct {
	code string
	err  error
}

// checkAnswer checks the query of the browser's answer and returns its
// authorization code. The state must be the one this login sent (else the
// answer could be an attacker's, RFC 6749 section 10.12), and iss, when the
// provider sends it or promised to, the provider's issuer (RFC 9207).
func (p *provider) checkAnswer(q url.Values, state string) (string, error) {
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		return "", errors.New("the browser's answer does not belong to this login (wrong state); run LOGIN again")
	}
	if iss, ok := q["iss"]; ok || p.requireIss {
		if !ok || len(iss) != 1 || iss[0] != p.issuer {
			return "", fmt.Errorf("the browser's answer does not come from %s (iss %q); run LOGIN again", p.issuer, printable(q.Get("iss")))
		}
	}
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			return "", fmt.Errorf("login was refused at %s", p.title)
		}
		msg := printable(e)
		if d := q.Get("error_description"); d != "" {
			msg += " (" + printable(d) + ")"
		}
		return "", fmt.Errorf("logging in at %s failed: %s", p.title, msg)
	}
	code := q.Get("code")
	if code == "" {
		return "", errors.New("the browser's answer has no authorization code; run LOGIN again")
	}
	return code, nil
}

// page answers the browser with a short page that says how the login ended.
func page(w http.ResponseWriter, status int, err error) {
	msg := "You are logged in. You can close this tab and go back to the musicdb console."
	if err != nil {
		msg = "The login failed: " + err.Error() + ". Go back to the musicdb console."
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	io.WriteString(w, "<!doctype html>\n<meta charset=\"utf-8\">\n<title>musicdb login</title>\n<p>"+html.EscapeString(msg)+"</p>\n")
}

// openBrowser opens u in the user's browser when xdg-open (or open, on
// macOS) is on PATH; the URL is on the console either way.
func openBrowser(u string) {
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return
	}
	cmd := exec.Command(path, u)
	if cmd.Start() == nil {
		go cmd.Wait()
	}
}
