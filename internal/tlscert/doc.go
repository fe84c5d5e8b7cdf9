// Package tlscert keeps the certificate and key of bootwright's HTTPS
// listener: it loads them from two PEM files, refuses a pair that does not
// match or has expired, and picks up a new pair written over the files
// without a restart.
//
// A reload is checked on each TLS handshake (tls.Config.GetCertificate):
// two stat(2) calls, and a new read only when either file's inode, size,
// change or modification time moved. This follows every way a pair is
// replaced (written in place, renamed over, a symbolic link such as
// certbot's live/ or a Kubernetes secret volume repointed), needs no
// watcher goroutine and loses no event, and costs microseconds against a
// handshake's milliseconds. A pair that fails to load is logged once and
// the previous pair keeps serving until the files change again.
package tlscert
