package buildkey

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/dockerfile"
)

// syntaxDirective matches a "# syntax=" parser directive, which names a
// frontend image the key cannot see.
var syntaxDirective = regexp.MustCompile(`(?im)^#\s*syntax\s*=`)

// Bases returns the images a Dockerfile starts from or copies out of: each
// FROM that names no earlier stage (scratch aside), and each COPY/ADD
// --from= and RUN --mount ...from= that names no stage. ok is false, with
// why, when the Dockerfile depends on something the key cannot see: a
// # syntax= frontend, a reference made of ARGs, a remote ADD.
func Bases(f *dockerfile.File, data []byte) (refs []string, ok bool, why string) {
	if syntaxDirective.Match(firstComments(data)) {
		return nil, false, "the Dockerfile names a # syntax= frontend"
	}
	seen := map[string]bool{}
	add := func(ref string) {
		if !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
	}
	for i := range f.Stages {
		s := &f.Stages[i]
		if !isStage(f, i, s.Base) && !strings.EqualFold(s.Base, "scratch") {
			add(s.Base)
		}
	}
	for _, in := range f.Instructions {
		if in.Command == "FROM" && strings.Contains(fromImage(in.Source), "$") {
			// Stage.Base has the ARG's default in it, which a build arg
			// may override.
			return nil, false, "a FROM names an ARG"
		}
		for _, from := range fromFlags(in) {
			switch {
			case strings.Contains(from, "$"):
				return nil, false, in.Command + " --from names an ARG"
			case !isStage(f, in.Stage, from):
				add(from)
			}
		}
		if in.Command == "ADD" && remoteAdd(in.Source) {
			return nil, false, "an ADD fetches a URL or a git repository"
		}
	}
	return refs, true, ""
}

// firstComments returns the leading comment lines, where directives live.
func firstComments(data []byte) []byte {
	end := 0
	for end < len(data) {
		nl := strings.IndexByte(string(data[end:]), '\n')
		line := strings.TrimSpace(string(data[end:]))
		if nl >= 0 {
			line = strings.TrimSpace(string(data[end : end+nl]))
		}
		if line != "" && !strings.HasPrefix(line, "#") {
			break
		}
		if nl < 0 {
			end = len(data)
			break
		}
		end += nl + 1
	}
	return data[:end]
}

// isStage reports whether name is a stage before stage index before, by
// name or by number, as BuildKit resolves --from and FROM.
func isStage(f *dockerfile.File, before int, name string) bool {
	if n, err := strconv.Atoi(name); err == nil {
		return n >= 0 && n < len(f.Stages)
	}
	for i := 0; i < before && i < len(f.Stages); i++ {
		if f.Stages[i].Name != "" && strings.EqualFold(f.Stages[i].Name, name) {
			return true
		}
	}
	return false
}

// fromFlags returns the values of an instruction's --from= flag and of
// from= in its --mount flags.
func fromFlags(in dockerfile.Instruction) []string {
	var out []string
	for _, fl := range in.Flags {
		name, val, _ := strings.Cut(strings.TrimLeft(fl, "-"), "=")
		switch strings.ToLower(name) {
		case "from":
			out = append(out, strings.Trim(val, `"'`))
		case "mount":
			for _, kv := range strings.Split(val, ",") {
				k, v, _ := strings.Cut(kv, "=")
				if strings.EqualFold(strings.TrimSpace(k), "from") {
					out = append(out, strings.Trim(v, `"'`))
				}
			}
		}
	}
	return out
}

// remoteAdd reports whether an ADD's source text names a URL or a git
// repository, whose content can change with no change the key sees.
func remoteAdd(source string) bool {
	s := strings.ToLower(source)
	return strings.Contains(s, "://") || strings.Contains(s, "git@")
}

// fromImage returns the image word of a FROM line as written: the first
// word after FROM that is not a flag.
func fromImage(source string) string {
	words := strings.Fields(source)
	for _, w := range words[min(1, len(words)):] {
		if !strings.HasPrefix(w, "--") && w != "\\" {
			return w
		}
	}
	return ""
}
