package explain

import (
	"strings"
	"unicode"
)

// wordWrap breaks s at white space so that lines stay within limit
// characters where a word allows it, as upstream kubectl's word-wrapping
// writer does: existing line breaks are kept, the white space where a line
// is broken is dropped, and a word longer than the limit stays whole.
func wordWrap(s string, limit int) string {
	var out, word, space strings.Builder
	col, wordLen, spaceLen := 0, 0, 0
	flushWord := func() {
		col += spaceLen + wordLen
		out.WriteString(space.String())
		out.WriteString(word.String())
		space.Reset()
		word.Reset()
		spaceLen, wordLen = 0, 0
	}
	for _, r := range s {
		switch {
		case r == '\n':
			if wordLen == 0 {
				// Trailing white space survives only if it fits.
				if col+spaceLen <= limit {
					out.WriteString(space.String())
				}
				space.Reset()
				spaceLen = 0
			} else {
				flushWord()
			}
			out.WriteRune('\n')
			col = 0
		case unicode.IsSpace(r) && r != '\u00a0':
			if spaceLen == 0 || wordLen > 0 {
				flushWord()
			}
			space.WriteRune(r)
			spaceLen++
		default:
			word.WriteRune(r)
			wordLen++
			if col+wordLen+spaceLen > limit && wordLen < limit {
				out.WriteRune('\n')
				col = 0
				space.Reset()
				spaceLen = 0
			}
		}
	}
	if wordLen == 0 {
		if col+spaceLen <= limit {
			out.WriteString(space.String())
		}
	} else {
		out.WriteString(space.String())
		out.WriteString(word.String())
	}
	return out.String()
}

// indent puts n spaces before s and after each of its line breaks.
func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}
