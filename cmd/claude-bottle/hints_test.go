package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// The hints every message gives must name real commands and flags. These
// tests read every string in the module's Go source (tests and test data
// aside) and run each hint's command line through the CLI's own parser:
// cobra's Find, then the command's flag parsing. A hint to a command or
// flag that does not exist fails them (defect 8).

var (
	// quotedHint is a command line in backquotes: `claude-bottle ...`; a
	// string cut by concatenation ends the line where it ends.
	quotedHint = regexp.MustCompile("`claude-bottle ([^`]*)(?:`|$)")
	// bareHint is a command named in running text: "run claude-bottle
	// drivers to list them"; its words count while they name commands.
	bareHint = regexp.MustCompile(`(?:run|with|see|use) claude-bottle ((?:[a-z][a-z-]* ?)+)`)
	// flagHint is a flag the reader is told to pass: "pass --repo DIR".
	flagHint = regexp.MustCompile(`\b(?:pass|add|drop|give|use|set|with|or) (--[a-z][a-z0-9-]*)`)
	// formatVerb is a fmt verb standing for a value in a hint.
	formatVerb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`)
)

// sourceStrings returns every string literal of the module's Go files,
// with where it is.
func sourceStrings(t *testing.T) map[string]string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "integration" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || strings.HasSuffix(p, ".pb.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					pos := fset.Position(lit.Pos())
					rel, _ := filepath.Rel(root, pos.Filename)
					out[s] = rel + ":" + strconv.Itoa(pos.Line)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hintLines returns the command lines a string hints at, each as the
// words after "claude-bottle", alternatives (a|b) expanded.
func hintLines(s string) [][]string {
	var lines [][]string
	for _, m := range quotedHint.FindAllStringSubmatch(s, -1) {
		words := strings.Fields(formatVerb.ReplaceAllString(m[1], "x"))
		lines = append(lines, expandAlternatives(words)...)
	}
	for _, m := range bareHint.FindAllStringSubmatch(s, -1) {
		lines = append(lines, strings.Fields(m[1]))
	}
	return lines
}

func expandAlternatives(words []string) [][]string {
	for i, w := range words {
		if strings.Contains(w, "|") && !strings.HasPrefix(w, "-") {
			var out [][]string
			for _, alt := range strings.Split(w, "|") {
				next := append(append(append([]string{}, words[:i]...), alt), words[i+1:]...)
				out = append(out, expandAlternatives(next)...)
			}
			return out
		}
	}
	return [][]string{words}
}

// checkHint runs a hint's command line through the CLI parser, as a shell
// would hand it over, and says what is wrong with it, or "".
func checkHint(words []string, bare bool) string {
	root := (&app{}).newRootCmd()
	cmd, rest, err := root.Find(words)
	if err != nil {
		return err.Error()
	}
	if cmd == root {
		return "no such command"
	}
	if bare {
		return "" // running text: only the command words are the hint's
	}
	rest = slicesDeleteHelp(rest) // asking for help is always a real flag
	if err := cmd.ParseFlags(rest); err != nil {
		return err.Error()
	}
	if args := cmd.Flags().Args(); cmd.HasSubCommands() && len(args) > 0 {
		return "unknown subcommand " + strconv.Quote(args[0])
	}
	return ""
}

// hasFlag reports whether any command of the tree has flag (--name).
func hasFlag(cmd *cobra.Command, flag string) bool {
	name := strings.TrimPrefix(flag, "--")
	if cmd.Flags().Lookup(name) != nil || cmd.PersistentFlags().Lookup(name) != nil {
		return true
	}
	for _, c := range cmd.Commands() {
		if hasFlag(c, name) {
			return true
		}
	}
	return false
}

func TestHintsNameRealCommands(t *testing.T) {
	n := 0
	for s, at := range sourceStrings(t) {
		for _, words := range hintLines(s) {
			n++
			if why := checkHint(words, false); why != "" && !isBare(s, words) {
				t.Errorf("%s: hint `claude-bottle %s` does not parse: %s", at, strings.Join(words, " "), why)
			} else if why := checkHint(commandWords(words), true); why != "" {
				t.Errorf("%s: hint `claude-bottle %s` names no command: %s", at, strings.Join(words, " "), why)
			}
		}
	}
	if n < 20 {
		t.Fatalf("found only %d hints: is the source walked?", n)
	}
}

func TestHintsNameRealFlags(t *testing.T) {
	root := (&app{}).newRootCmd()
	n := 0
	for s, at := range sourceStrings(t) {
		for _, m := range flagHint.FindAllStringSubmatch(s, -1) {
			n++
			if !hasFlag(root, m[1]) {
				t.Errorf("%s: %q tells the reader to pass %s, which no command has", at, s, m[1])
			}
		}
	}
	if n < 10 {
		t.Fatalf("found only %d flag hints: is the source walked?", n)
	}
}

// TestHintCheckerCatchesBadHints: the checks fail the hints issue 18
// found, so they cannot pass by matching nothing.
func TestHintCheckerCatchesBadHints(t *testing.T) {
	for _, s := range []string{
		"see `claude-bottle driver info docker`",
		"see `claude-bottle drivers --verbose`",
		"run `claude-bottle capability frobnicate x`",
		"run claude-bottle nothing to see",
	} {
		bad := false
		for _, words := range hintLines(s) {
			why := checkHint(words, false)
			if isBare(s, words) {
				why = checkHint(commandWords(words), true)
			}
			bad = bad || why != ""
		}
		if !bad {
			t.Errorf("hint %q passed", s)
		}
	}
	root := (&app{}).newRootCmd()
	if hasFlag(root, "--no-load") || !hasFlag(root, "--load") || !hasFlag(root, "--buildkit-addr") || !hasFlag(root, "--home") {
		t.Error("hasFlag does not know the flags")
	}
	if m := flagHint.FindStringSubmatch("pass --no-load, or --buildkit-addr"); m == nil || hasFlag(root, m[1]) {
		t.Errorf("the --no-load hint would pass: %v", m)
	}
}

// isBare reports whether words came from running text rather than
// backquotes.
func isBare(s string, words []string) bool {
	return !strings.Contains(s, "`claude-bottle "+strings.Join(words, " ")) && bareHint.MatchString(s)
}

// commandWords are the leading words of a bare hint that name commands.
func commandWords(words []string) []string {
	root := (&app{}).newRootCmd()
	cmd, n := root, 0
	for _, w := range words {
		next, _, err := cmd.Find([]string{w})
		if err != nil || next == cmd {
			break
		}
		cmd, n = next, n+1
	}
	if n == 0 && len(words) > 0 {
		return words[:1] // names no command: let checkHint say so
	}
	return words[:n]
}

func slicesDeleteHelp(args []string) []string {
	var out []string
	for _, a := range args {
		if a != "--help" && a != "-h" {
			out = append(out, a)
		}
	}
	return out
}
