package console

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// topics are the HELP topics, one per command keyword, each with what the
// keyword is for.
var topics = []struct{ word, about string }{
	{"ADD", "ADD creates a user, a band or an album, or rates an album as a user."},
	{"SHOW", "SHOW prints one item by its id, or lists items."},
	{"REMOVE", "REMOVE deletes one item by its id, or many. Deleting a user deletes\n" +
		"their ratings, a band its albums, an album its ratings."},
	{"UPDATE", "UPDATE changes a user's password or a user's rating of an album."},
	{"HELP", "HELP lists every command, or the forms of one keyword."},
	{"STATS", "STATS prints the requests, connections, TLS handshakes and HTTP\n" +
		"version of this console so far."},
	{"LOGIN", "LOGIN logs in again, with the provider given or the one in use."},
	{"LOGOUT", "LOGOUT revokes the token where it was issued, if it can, and forgets it."},
	{"QUIT", "QUIT leaves the console."},
	{"EXIT", "EXIT leaves the console, as QUIT does."},
}

func topicWords() []string {
	words := make([]string, len(topics))
	for i, t := range topics {
		words[i] = t.word
	}
	return words
}

// quoting explains the words of a line, for HELP on commands that take text.
const quoting = `Names may hold spaces. A word in double quotes, such as a password with
spaces, is taken whole; inside the quotes \" stands for a quote and \\ for a
backslash.
`

// HelpText returns the text of HELP on topic: with topic "", every command
// form with what it does; with a keyword (in any case), the forms that begin
// with it. An unknown topic is a *UsageError. The lines fit 80 columns.
func HelpText(topic string) (string, error) {
	if topic == "" {
		return describe("Commands (keywords in any case; lines starting with # are skipped):", forms), nil
	}
	word := upperASCII(topic)
	i := slices.IndexFunc(topics, func(t struct{ word, about string }) bool { return t.word == word })
	if i < 0 {
		return "", &UsageError{
			Problem: "topic " + checkChoice(word, topicWords()),
			Hint:    hint(argTopic.name, formOf(Help)),
		}
	}
	var fs []form
	for _, f := range forms {
		if f.words[0] == word {
			fs = append(fs, f)
		}
	}
	return describe(topics[i].about, fs), nil
}

// formOf returns the first form of op.
func formOf(op Op) *form {
	return &forms[slices.IndexFunc(forms, func(f form) bool { return f.op == op })]
}

// describe lays out fs under intro as HELP shows them: one form a line with
// what it does, then the values of the arguments that take fixed ones, then
// how to quote when any form takes a name or a password.
func describe(intro string, fs []form) string {
	var b strings.Builder
	b.WriteString(intro + "\n\n")
	width := 0
	ptrs := make([]*form, len(fs))
	for i := range fs {
		ptrs[i] = &fs[i]
		width = max(width, utf8.RuneCountInString(fs[i].usage()))
	}
	text := false
	for _, f := range ptrs {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, f.usage(), f.about)
		text = text || slices.ContainsFunc(f.args, func(a arg) bool { return a.rest || a.secret })
	}
	if choices := choiceArgs(ptrs); choices != nil {
		b.WriteString("\n")
		width = 0
		for _, a := range choices {
			width = max(width, len(a.name)+1)
		}
		for _, a := range choices {
			fmt.Fprintf(&b, "  %-*s %s\n", width, a.name+":", strings.Join(a.choices, " "))
		}
	}
	if text {
		b.WriteString("\n" + quoting)
	}
	return b.String()
}
