package cache

import (
	"mime"
	"net/http"
	"strings"
)

// isHTML reports whether an upstream answer is an HTML page rather than a
// boot file, by its Content-Type header (when given) or by its first
// bytes (when given): what a captive portal or a mirror's error page
// served with 200 looks like.
func isHTML(contentType string, first []byte) bool {
	if contentType != "" {
		if mt, _, err := mime.ParseMediaType(contentType); err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
			return true
		}
	}
	return len(first) > 0 && strings.HasPrefix(http.DetectContentType(first), "text/html")
}
