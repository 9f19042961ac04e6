package termsafe

import "testing"

func TestText(t *testing.T) {
	cases := map[string]string{
		"plain line":                     "plain line",
		"two\nlines\tand a tab":          "two\nlines\tand a tab",
		"\x1b]0;pwned\x07\x1b[2Jcleared": `\x1b]0;pwned\x07\x1b[2Jcleared`,
		"carriage\rreturn":               `carriage\x0dreturn`,
		"c1 \u009b31m csi":               `c1 \x9b31m csi`,
		"bad utf8 \xff":                  `bad utf8 \xff`,
		"del\x7f":                        `del\x7f`,
		"ünïcödé ok":                     "ünïcödé ok",
		"sep\u2028":                      `sep\u2028`,
	}
	for in, want := range cases {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}
