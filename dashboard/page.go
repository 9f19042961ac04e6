package dashboard

import (
	"bytes"
	"embed"
	"html/template"
	"io"
	"io/fs"
	"net/http"
)

// The page and its script and style are plain files carried by the
// binary: no CDN, no build step.
//
//go:embed assets
var assetFS embed.FS

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// page serves the one page (the overview and a bottle's page alike; its
// script shows the one the path names), with the CSRF token its script
// sends on every change.
func (s *Server) page(csrf string) http.Handler {
	var buf bytes.Buffer
	pageTemplate.Execute(&buf, struct{ CSRF string }{csrf})
	body := buf.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		w.Write(body)
	})
}

// assets serves /assets/ from the embedded files.
func assets() http.Handler {
	sub, _ := fs.Sub(assetFS, "assets")
	return http.StripPrefix("/assets/", http.FileServerFS(sub))
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
