package console

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one word of a line.
type token struct {
	text       string // the word, with its quotes and escapes undone
	start, end int    // where it is in the line, quotes included
}

// tokenize splits line into words at runs of spaces and tabs. A word that
// starts with a double quote runs to the matching quote, spaces included;
// inside it \" is a quote, \\ a backslash, and any other backslash stands
// for itself. A quote elsewhere in a word is an ordinary character, so a
// password may hold one.
//
// On a broken quote tokenize returns the words so far, the broken one last
// (running to the end of the line or of its word), and the problem; else it
// returns the words and "".
func tokenize(line string) ([]token, string) {
	var toks []token
	for i := 0; i < len(line); {
		if isBlank(line[i]) {
			i++
			continue
		}
		start := i
		if line[i] != '"' {
			for i < len(line) && !isBlank(line[i]) {
				i++
			}
			toks = append(toks, token{line[start:i], start, i})
			continue
		}
		var b strings.Builder
		closed := false
		for i++; i < len(line); i++ {
			c := line[i]
			if c == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\') {
				i++
				c = line[i]
			} else if c == '"' {
				closed = true
				i++
				break
			}
			b.WriteByte(c)
		}
		if !closed {
			return append(toks, token{b.String(), start, len(line)}), "unterminated quote"
		}
		if i < len(line) && !isBlank(line[i]) {
			for i < len(line) && !isBlank(line[i]) {
				i++
			}
			return append(toks, token{b.String(), start, i}), "a closing quote must be followed by a space"
		}
		toks = append(toks, token{b.String(), start, i})
	}
	return toks, ""
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// upperASCII returns s with a–z in upper case. Only ASCII folds, so that
// "ſhow" (long s) is not SHOW nor "ROC\u212A" (Kelvin sign) rock.
func upperASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}, s)
}

// lowerASCII returns s with A–Z in lower case; see upperASCII.
func lowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}, s)
}

// isKeyword reports whether word is the keyword kw (given in upper case),
// written in any case.
func isKeyword(word, kw string) bool { return upperASCII(word) == kw }

// startsWithLetter reports whether s begins with a letter: a word meant as a
// keyword rather than a number.
func startsWithLetter(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r)
}

// number returns the value of s when s is a whole number written in decimal
// digits only (no sign, no exponent) that fits an int64, else 0. Zero is out
// of range for every id, year and rate, so the caller's range check then
// rejects s with the message that says what is wanted.
func number(s string) int64 {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// smallNumber is number for a year or a rate, which an int holds on every
// platform; a larger number is 0 too.
func smallNumber(s string) int {
	n := number(s)
	if n > math.MaxInt32 {
		return 0
	}
	return int(n)
}

// quote quotes a word the user typed for an error message, cut short when
// long, so that the message stays one readable line.
func quote(s string) string {
	const most = 24
	if utf8.RuneCountInString(s) > most {
		s = string([]rune(s)[:most]) + "…"
	}
	return strconv.Quote(s)
}
