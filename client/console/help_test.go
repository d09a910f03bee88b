package console

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// helpTopics are "" (every command) and every HELP topic.
func helpTopics() []string { return append([]string{""}, topicWords()...) }

func TestHelpText(t *testing.T) {
	for _, topic := range helpTopics() {
		name := "help"
		if topic != "" {
			name += "-" + topic
		}
		t.Run(name, func(t *testing.T) {
			got, err := HelpText(topic)
			if err != nil {
				t.Fatalf("HelpText(%q): %v", topic, err)
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("HelpText(%q) differs from %s:\n%s", topic, golden, got)
			}
			for i, line := range strings.Split(got, "\n") {
				if n := utf8.RuneCountInString(line); n > 80 {
					t.Errorf("line %d is %d columns wide: %s", i+1, n, line)
				}
			}
		})
	}
}

func TestHelpTextAnyCase(t *testing.T) {
	for _, topic := range []string{"add", "Show", "rEmOvE", "exit"} {
		got, err := HelpText(topic)
		want, _ := HelpText(strings.ToUpper(topic))
		if err != nil || got != want {
			t.Errorf("HelpText(%q) = %q, %v; want the text of %s", topic, got, err, strings.ToUpper(topic))
		}
	}
}

func TestHelpTextUnknown(t *testing.T) {
	for _, topic := range []string{"FOO", "USER", "ALL", "ſhow", "#"} {
		got, err := HelpText(topic)
		var uerr *UsageError
		if !errors.As(err, &uerr) || got != "" {
			t.Fatalf("HelpText(%q) = %q, %v; want a *UsageError", topic, got, err)
		}
		const want = "topic must be one of ADD SHOW REMOVE UPDATE HELP STATS LOGIN LOGOUT QUIT EXIT; usage: HELP [topic]"
		if err.Error() != want {
			t.Errorf("HelpText(%q) error\n got %s\nwant %s", topic, err, want)
		}
	}
}

// TestHelpListsEveryForm checks that HELP, and HELP on the form's keyword,
// show each form as its usage errors do.
func TestHelpListsEveryForm(t *testing.T) {
	all, _ := HelpText("")
	for _, f := range forms {
		t.Run(f.usage(), func(t *testing.T) {
			// Too many arguments, or a bad first one: either way a usage
			// error naming the form.
			line := strings.Join(f.words, " ") + " 0 0 0 0 0 0"
			_, err := Parse(line, now)
			var uerr *UsageError
			if !errors.As(err, &uerr) {
				t.Fatalf("Parse(%q): %v, want a *UsageError", line, err)
			}
			if !strings.Contains(uerr.Hint, f.usage()) {
				t.Errorf("usage error %q does not show %q", uerr.Hint, f.usage())
			}
			topic, _ := HelpText(f.words[0])
			for _, text := range []string{all, topic} {
				if !strings.Contains(text, "\n  "+f.usage()+"  ") {
					t.Errorf("HELP does not list %q:\n%s", f.usage(), text)
				}
			}
		})
	}
}
